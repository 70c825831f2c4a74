"""The ceiling: a bare Flask view returning a short text, served exactly like the product.

Not part of the product (training_app knows nothing of it). bench/load.py serves it with the
same gunicorn command line and loads it with the same client, so that each page's throughput
can be given as a fraction of what Flask and gunicorn alone manage on this machine. Like the
product with BENCH_COUNT_QUERIES, it tells the CPU time of each request in a header.
"""
from flask import Flask

from training_app.query_counter import CpuTimer

app = Flask(__name__)
app.wsgi_app = CpuTimer(app.wsgi_app)


@app.route("/")
def hello():
    return "Bonjour"
