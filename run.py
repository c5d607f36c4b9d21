"""Entry point: `python run.py method=lcl dataset=ed seed=0..4` (see README)."""
from lcl_repro.cli import main

if __name__ == "__main__":
    main()
