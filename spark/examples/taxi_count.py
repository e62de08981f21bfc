"""The reference job: count the rows of a (possibly encrypted) taxi data set.

    spark-submit taxi_count.py PATH

Encrypted Parquet is decrypted by parquet-java's PropertiesDrivenCryptoFactory
with cofre's KmsClient (spark/kms-client), configured by the Spark properties
cofre gives the job; nothing here knows about keys.
"""
import sys
import time

from pyspark.sql import SparkSession


def main(path: str) -> None:
    spark = SparkSession.builder.appName("cofre-taxi-count").getOrCreate()
    began = time.monotonic()
    n = spark.read.parquet(path).count()
    print(f"rows={n} seconds={time.monotonic() - began:.2f}", flush=True)
    spark.stop()


if __name__ == "__main__":
    main(sys.argv[1])
