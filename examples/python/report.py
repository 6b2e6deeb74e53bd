#!/usr/bin/python3
# Read "name,value" lines on stdin, keep them in SQLite, print a JSON summary and whether the
# TLS module works: json, sqlite3 and ssl are all loaded at run time (dlopen'd extensions).
import json
import sqlite3
import ssl
import sys

db = sqlite3.connect(":memory:")
db.execute("create table t (name text, value integer)")
for line in sys.stdin:
    if line.strip():
        name, value = line.strip().split(",")
        db.execute("insert into t values (?, ?)", (name, int(value)))
n, total = db.execute("select count(*), sum(value) from t").fetchone()
ctx = ssl.create_default_context()
print(json.dumps({"rows": n, "sum": total, "tls13": ssl.HAS_TLSv1_3,
                  "verify": ctx.verify_mode == ssl.CERT_REQUIRED}, sort_keys=True))
