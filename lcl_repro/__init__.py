"""lcl-repro: reproduce supervised-contrastive fine-tuning objectives for text classification."""
__version__ = "0.1.0"
