"""app2: a Flask app with a database. Says which server ran it, in the body and in X-Served-By.

With DATABASE set, provision gives it a database of its own (DATABASE_* variables):
- POST /rows       stores a row (form or query field `token`, up to 64 characters) and answers
                   200 with its id only once the row is committed (replicated to a majority);
- GET  /rows/count the number of rows;
- GET  /rows/tokens every stored token, one a line (for checking that no write was lost).
Without a database those answer 503.
"""
import os
import socket
import time

from flask import Flask, jsonify, request

SERVER = socket.gethostname()
app = Flask(__name__)

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS rows_written ("
    " id BIGINT AUTO_INCREMENT PRIMARY KEY,"
    " token VARCHAR(64) NOT NULL,"
    " served_by VARCHAR(64) NOT NULL,"
    " created TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),"
    " KEY (token))"
)
_schema_ready = False


def connect():
    """A new connection per request: after a failover the local proxy sends it to a healthy member."""
    import pymysql

    global _schema_ready
    # A connection that never opened (the local proxy had no member for a moment, e.g. while
    # this server rejoins the cluster) sent nothing: trying again for up to 3 s is safe.
    deadline = time.monotonic() + 3
    while True:
        try:
            conn = pymysql.connect(
                host=os.environ["DATABASE_HOST"],
                port=int(os.environ["DATABASE_PORT"]),
                user=os.environ["DATABASE_USER"],
                password=os.environ["DATABASE_PASSWORD"],
                database=os.environ["DATABASE_NAME"],
                connect_timeout=5,
                read_timeout=30,
                write_timeout=30,
                autocommit=False,
            )
            break
        except pymysql.err.OperationalError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.2)
    if not _schema_ready:
        with conn.cursor() as cur:
            cur.execute(SCHEMA)
        conn.commit()
        _schema_ready = True
    return conn


def fetch_all(sql):
    """The rows of one read, on a connection of its own."""
    conn = connect()
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
            return cur.fetchall()
    finally:
        conn.close()


def no_database():
    return "app2: no database (set DATABASE=galera)\n", 503, {"Content-Type": "text/plain"}


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
    return jsonify(app="app2", served_by=SERVER, database="DATABASE_NAME" in os.environ)


# Galera aborts a transaction that loses a conflict or is caught by a membership change
# (deadlock, 1213) and refuses work while it is not in a primary component (1047): the
# transaction was not committed, so it is safe to run it again. Apps on Galera should do this.
RETRY_CODES = {1213, 1047}


def insert_row(token):
    import pymysql

    for attempt in range(4):
        conn = connect()
        try:
            with conn.cursor() as cur:
                cur.execute(
                    "INSERT INTO rows_written (token, served_by) VALUES (%s, %s)", (token, SERVER)
                )
                row_id = cur.lastrowid
            conn.commit()
            return row_id
        except pymysql.err.MySQLError as e:
            code = e.args[0] if e.args else None
            if code not in RETRY_CODES or attempt == 3:
                raise
            time.sleep(0.2 * (attempt + 1))
        finally:
            conn.close()
    raise RuntimeError("unreachable")


@app.route("/rows", methods=["POST"])
def write_row():
    if "DATABASE_NAME" not in os.environ:
        return no_database()
    token = request.values.get("token", "")[:64]
    try:
        row_id = insert_row(token)
    except Exception as e:  # noqa: BLE001 - the answer says what failed, and nothing is committed
        return f"database error: {type(e).__name__} {e.args[:1]}\n", 500, {"Content-Type": "text/plain"}
    return jsonify(id=row_id, token=token, served_by=SERVER)


@app.route("/rows/count")
def count_rows():
    if "DATABASE_NAME" not in os.environ:
        return no_database()
    ((count,),) = fetch_all("SELECT COUNT(*) FROM rows_written")
    return jsonify(count=count, served_by=SERVER)


@app.route("/rows/tokens")
def tokens():
    if "DATABASE_NAME" not in os.environ:
        return no_database()
    lines = [t for (t,) in fetch_all("SELECT token FROM rows_written ORDER BY id")]
    return "".join(f"{t}\n" for t in lines), 200, {"Content-Type": "text/plain"}


# uWSGI looks for `application`.
application = app
