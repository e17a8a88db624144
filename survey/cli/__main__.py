"""`python -m survey.cli`: the same as the `survey` command."""
from . import main

main()
