"""Write the synthetic trips table as a Delta table from Spark (delta-spark).

    spark-submit write_delta.py OUT ROWS

Same values as write_trips.py (fare_amount = (id % 100) + 0.5,
passenger_count = id % 7), appended in two commits so the log has history.
Encryption of the data files comes from the job's Hadoop properties, as for
any Parquet the job writes; cofre spark submit --delta turns off the per-file
min/max statistics Delta would otherwise keep in plaintext in its log.
"""
import sys

from pyspark.sql import SparkSession
from pyspark.sql import functions as F


def main(out: str, rows: int) -> None:
    spark = SparkSession.builder.appName("cofre-write-delta").getOrCreate()
    df = (
        spark.range(rows)
        .withColumn("passenger_count", (F.col("id") % 7).cast("long"))
        .withColumn("fare_amount", (F.col("id") % 100).cast("double") + F.lit(0.5))
        .withColumn("total_amount", F.col("fare_amount") * 2)
    )
    half = rows // 2
    df.where(F.col("id") < half).write.format("delta").mode("errorifexists").save(out)
    df.where(F.col("id") >= half).write.format("delta").mode("append").save(out)
    print(f"wrote={rows}", flush=True)
    spark.stop()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
