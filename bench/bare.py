"""The ceiling: a bare Flask view returning a short text, served exactly like the product.

Not part of the product (training_app knows nothing of it). bench/load.py serves it with the
same gunicorn command line and loads it with the same client, so that each page's throughput
can be given as a fraction of what Flask and gunicorn alone manage on this machine.
"""
from flask import Flask

app = Flask(__name__)


@app.route("/")
def hello():
    return "Bonjour"
