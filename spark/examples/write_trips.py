"""Write a small synthetic trips table as encrypted Parquet from Spark.

    spark-submit write_trips.py OUT ROWS

Which columns are encrypted under which master key comes from the job's
Hadoop properties (parquet.encryption.footer.key, parquet.encryption.column.keys),
as with any Spark job using PropertiesDrivenCryptoFactory. The values are a
deterministic function of the row id, so a reader can check them exactly:
fare_amount = (id % 100) + 0.5, passenger_count = id % 7.
"""
import sys

from pyspark.sql import SparkSession
from pyspark.sql import functions as F


def main(out: str, rows: int) -> None:
    spark = SparkSession.builder.appName("cofre-write-trips").getOrCreate()
    df = (
        spark.range(rows)
        .withColumn("passenger_count", (F.col("id") % 7).cast("long"))
        .withColumn("fare_amount", (F.col("id") % 100).cast("double") + F.lit(0.5))
        .withColumn("total_amount", F.col("fare_amount") * 2)
    )
    df.repartition(2).write.mode("errorifexists").parquet(out)
    print(f"wrote={rows}", flush=True)
    spark.stop()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
