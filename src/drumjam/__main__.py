"""``python -m drumjam`` runs the command line."""

from drumjam.cli import main

main()
