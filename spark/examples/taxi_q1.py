"""Q1 on the taxi data set: trips, revenue and average fare by passenger count.

    spark-submit taxi_q1.py PATH

Prints one line per group, "passenger_count,trips,revenue,avg_fare", sorted,
with the same rounding as cofre's demo query, so outputs compare as text.
"""
import sys
import time

from pyspark.sql import SparkSession
from pyspark.sql import functions as F


def main(path: str) -> None:
    spark = SparkSession.builder.appName("cofre-taxi-q1").getOrCreate()
    began = time.monotonic()
    rows = (
        spark.read.parquet(path)
        .groupBy("passenger_count")
        .agg(
            F.count(F.lit(1)).alias("trips"),
            F.round(F.sum("total_amount"), 2).alias("revenue"),
            F.round(F.avg("fare_amount"), 2).alias("avg_fare"),
        )
        .orderBy(F.col("passenger_count").asc_nulls_last())
        .collect()
    )
    for r in rows:
        pc = "NULL" if r.passenger_count is None else r.passenger_count
        print(f"q1:{pc},{r.trips},{r.revenue:.2f},{r.avg_fare:.2f}", flush=True)
    print(f"seconds={time.monotonic() - began:.2f}", flush=True)
    spark.stop()


if __name__ == "__main__":
    main(sys.argv[1])
