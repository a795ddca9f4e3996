"""``python -m abm`` runs the command line."""

from abm.cli import main

main()
