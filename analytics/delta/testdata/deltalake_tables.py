"""Independent Delta writer/reader for the analytics/delta interop tests.

Uses the delta-rs Python package (deltalake, pinned in .ci/run) to make
tables the Go replay is checked against, and to read tables the Go writer
made. Run by deltalake_test.go; not part of the product.

  deltalake_tables.py gen OUT     write tables under OUT and OUT/expected.json
  deltalake_tables.py count DIR   print {"version","rows","files"} for DIR
"""

import datetime
import decimal
import glob
import json
import os
import sys

import pyarrow as pa
import pyarrow.parquet as pq
from deltalake import DeltaTable, write_deltalake


def state(path):
    """What deltalake reports for every version of the table at path."""
    dt = DeltaTable(path)
    out = []
    root = os.path.abspath(path) + "/"
    for v in range(dt.version() + 1):
        d = DeltaTable(path, version=v)
        files = sorted(u[len(root):] if u.startswith(root) else u for u in d.file_uris())
        p = d.protocol()
        out.append({
            "version": d.version(),
            "files": files,
            "schema": json.loads(d.schema().to_json()),
            "partitionColumns": d.metadata().partition_columns,
            "minReaderVersion": p.min_reader_version,
            "minWriterVersion": p.min_writer_version,
            "rows": d.to_pyarrow_table().num_rows,
        })
    return out


def batch(start, n, part_values):
    return pa.table({
        "id": pa.array(range(start, start + n), pa.int64()),
        "name": [f"n{i}" for i in range(start, start + n)],
        "p": [part_values[i % len(part_values)] for i in range(n)],
    })


def gen(out):
    os.makedirs(out, exist_ok=True)
    tables = {}

    # simple: write, append, overwrite, delete (removes), append.
    t = os.path.join(out, "simple")
    write_deltalake(t, batch(0, 10, ["a"]))
    write_deltalake(t, batch(10, 10, ["a"]), mode="append")
    write_deltalake(t, batch(20, 5, ["a"]), mode="overwrite")
    DeltaTable(t).delete("id < 22")
    write_deltalake(t, batch(30, 3, ["a"]), mode="append")
    tables["simple"] = state(t)

    # partitioned, with special characters in partition values (the log
    # percent-encodes them), a delete, a checkpoint, then more commits.
    t = os.path.join(out, "partitioned")
    parts = ["x", "y z", "a/b", "c:d%e", "ü"]
    write_deltalake(t, batch(0, 20, parts), partition_by=["p"])
    write_deltalake(t, batch(20, 20, parts), partition_by=["p"], mode="append")
    DeltaTable(t).delete("id % 7 = 0")
    DeltaTable(t).create_checkpoint()
    write_deltalake(t, batch(40, 10, parts), partition_by=["p"], mode="append")
    DeltaTable(t).delete("p = 'x'")
    tables["partitioned"] = state(t)

    # multipart: a checkpoint split into two parts (delta-rs writes only
    # single-part ones), and the commits before it removed, so the
    # checkpoint is the only way to rebuild the table.
    t = os.path.join(out, "multipart")
    write_deltalake(t, batch(0, 12, ["x", "y"]), partition_by=["p"])
    write_deltalake(t, batch(12, 12, ["x", "y"]), partition_by=["p"], mode="append")
    DeltaTable(t).delete("id = 3")
    write_deltalake(t, batch(24, 12, ["x", "y"]), partition_by=["p"], mode="append")
    DeltaTable(t).create_checkpoint()
    write_deltalake(t, batch(36, 12, ["x", "y"]), partition_by=["p"], mode="append")
    expected = state(t)
    log = os.path.join(t, "_delta_log")
    single = os.path.join(log, "%020d.checkpoint.parquet" % 3)
    cp = pq.read_table(single)
    half = cp.num_rows // 2
    pq.write_table(cp.slice(0, half), os.path.join(log, "%020d.checkpoint.%010d.%010d.parquet" % (3, 1, 2)))
    pq.write_table(cp.slice(half), os.path.join(log, "%020d.checkpoint.%010d.%010d.parquet" % (3, 2, 2)))
    os.remove(single)
    with open(os.path.join(log, "_last_checkpoint")) as f:
        last = json.load(f)
    last["parts"] = 2
    last.pop("checksum", None)
    with open(os.path.join(log, "_last_checkpoint"), "w") as f:
        json.dump(last, f)
    for v in range(3):
        os.remove(os.path.join(log, "%020d.json" % v))
    # Versions before the checkpoint can no longer be rebuilt.
    tables["multipart"] = [s for s in expected if s["version"] >= 3]

    # types: every primitive type we map, and nested ones.
    t = os.path.join(out, "types")
    ts = datetime.datetime(2024, 5, 6, 7, 8, 9, tzinfo=datetime.timezone.utc)
    types = pa.table({
        "i8": pa.array([1], pa.int8()), "i16": pa.array([1], pa.int16()),
        "i32": pa.array([1], pa.int32()), "i64": pa.array([1], pa.int64()),
        "f32": pa.array([1.5], pa.float32()), "f64": pa.array([1.5], pa.float64()),
        "b": pa.array([True]), "s": pa.array(["s"]), "bin": pa.array([b"x"], pa.binary()),
        "d": pa.array([datetime.date(2024, 5, 6)], pa.date32()),
        "ts": pa.array([ts], pa.timestamp("us", tz="UTC")),
        "dec": pa.array([decimal.Decimal("12.34")], pa.decimal128(10, 2)),
        "st": pa.array([{"a": 1, "b": "x"}], pa.struct([("a", pa.int32()), ("b", pa.string())])),
        "li": pa.array([[1, 2]], pa.list_(pa.int64())),
        "mp": pa.array([[("k", 1)]], pa.map_(pa.string(), pa.int64())),
    })
    write_deltalake(t, types)
    tables["types"] = state(t)

    # ntz: timestamp without time zone needs the timestampNtz feature
    # (reader 3 / writer 7).
    t = os.path.join(out, "ntz")
    write_deltalake(t, pa.table({"ts": pa.array([ts.replace(tzinfo=None)], pa.timestamp("us"))}))
    tables["ntz"] = state(t)

    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump(tables, f, indent=1, sort_keys=True)


def count(path):
    dt = DeltaTable(path)
    print(json.dumps({
        "version": dt.version(),
        "rows": dt.to_pyarrow_table().num_rows,
        "files": len(dt.file_uris()),
        "schema": json.loads(dt.schema().to_json()),
    }))


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("gen", "count"):
        sys.exit(__doc__)
    {"gen": gen, "count": count}[sys.argv[1]](sys.argv[2])
    # Leave without interpreter teardown: with pyarrow and deltalake both
    # loaded, a native thread pool sometimes aborts at exit ("terminate
    # called without an active exception"), after all work is done.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
