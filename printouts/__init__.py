"""Printed matter: QR code images, and (ReportLab) posters, ballots, tally sheets, reports."""
