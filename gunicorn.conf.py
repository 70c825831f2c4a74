"""gunicorn's settings for training_app, read by gunicorn itself from the directory it starts in
(the README's production command and bench/load.py run it from the repository's root)."""
import gc


def post_worker_init(worker):
    """The application is loaded in this worker: what it keeps for its whole life (modules, mappers,
    configuration, templates) is moved out of the garbage collector's sight. Otherwise each full
    collection walks those 150,000 objects again: 80-100 ms during which the worker answers nobody,
    the slowest requests of every page (bench/README.md)."""
    gc.collect()
    gc.freeze()
