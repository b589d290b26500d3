"""app2: a Flask app. Says which server ran it, in the body and in X-Served-By."""
import socket

from flask import Flask, jsonify

SERVER = socket.gethostname()
app = Flask(__name__)


@app.after_request
def served_by(response):
    response.headers["X-Served-By"] = SERVER
    response.headers["Cache-Control"] = "no-store"
    return response


@app.route("/")
def index():
    return f"app2 (Flask) served by {SERVER}\n", 200, {"Content-Type": "text/plain; charset=utf-8"}


@app.route("/info")
def info():
    return jsonify(app="app2", served_by=SERVER)


# uWSGI looks for `application`.
application = app
