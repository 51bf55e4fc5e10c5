"""Experimental APIs, under Ray's names (``comet.experimental.tqdm_ray``)."""
