import sys

from bot.cli import main

# Guarded: the parser pool's spawned workers import the main module again.
if __name__ == "__main__":
    sys.exit(main())
