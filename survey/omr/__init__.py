"""Reading scanned paper ballots (OMR): pages in (images.py), marks read (reader.py, marks.py),
doubts to a person and ballots counted once (scans.py). See docs/assemblies.md."""
