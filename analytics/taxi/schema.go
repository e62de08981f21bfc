package taxi

import "github.com/apache/arrow-go/v18/arrow"

// Column names, in file order. They are spelled as in the TLC's 2024
// yellow_tripdata Parquet files, including the mixed case of VendorID,
// RatecodeID, PULocationID, DOLocationID and Airport_fee.
const (
	colVendorID             = "VendorID"
	colPickupDatetime       = "tpep_pickup_datetime"
	colDropoffDatetime      = "tpep_dropoff_datetime"
	colPassengerCount       = "passenger_count"
	colTripDistance         = "trip_distance"
	colRatecodeID           = "RatecodeID"
	colStoreAndFwdFlag      = "store_and_fwd_flag"
	colPULocationID         = "PULocationID"
	colDOLocationID         = "DOLocationID"
	colPaymentType          = "payment_type"
	colFareAmount           = "fare_amount"
	colExtra                = "extra"
	colMTATax               = "mta_tax"
	colTipAmount            = "tip_amount"
	colTollsAmount          = "tolls_amount"
	colImprovementSurcharge = "improvement_surcharge"
	colTotalAmount          = "total_amount"
	colCongestionSurcharge  = "congestion_surcharge"
	colAirportFee           = "Airport_fee"
)

// Column positions in Schema; the generator fills its buffers in this order.
const (
	idxVendorID = iota
	idxPickup
	idxDropoff
	idxPassengerCount
	idxTripDistance
	idxRatecodeID
	idxStoreAndFwdFlag
	idxPULocationID
	idxDOLocationID
	idxPaymentType
	idxFareAmount
	idxExtra
	idxMTATax
	idxTipAmount
	idxTollsAmount
	idxImprovementSurcharge
	idxTotalAmount
	idxCongestionSurcharge
	idxAirportFee
	numColumns
)

// Schema returns the Arrow schema of the generated files: the 19 columns of
// the TLC's 2024 yellow-taxi files with the Arrow types those files carry in
// their ARROW:schema metadata (written by pyarrow):
//
//	VendorID int32, tpep_pickup_datetime timestamp[us],
//	tpep_dropoff_datetime timestamp[us], passenger_count int64,
//	trip_distance double, RatecodeID int64, store_and_fwd_flag large_string,
//	PULocationID int32, DOLocationID int32, payment_type int64, and
//	double for fare_amount … Airport_fee.
//
// Every field is nullable, as in the TLC files (pyarrow marks all pandas
// columns nullable); only passenger_count, RatecodeID, store_and_fwd_flag,
// congestion_surcharge and Airport_fee ever hold nulls. The timestamps carry
// no time zone: they are New York wall-clock times, as in the TLC data.
// The 2025 files add cbd_congestion_fee; this schema is the 2024 one.
//
// Each call returns a new schema; callers may keep or modify it.
func Schema() *arrow.Schema {
	ts := &arrow.TimestampType{Unit: arrow.Microsecond}
	f := func(name string, t arrow.DataType) arrow.Field {
		return arrow.Field{Name: name, Type: t, Nullable: true}
	}
	return arrow.NewSchema([]arrow.Field{
		f(colVendorID, arrow.PrimitiveTypes.Int32),
		f(colPickupDatetime, ts),
		f(colDropoffDatetime, ts),
		f(colPassengerCount, arrow.PrimitiveTypes.Int64),
		f(colTripDistance, arrow.PrimitiveTypes.Float64),
		f(colRatecodeID, arrow.PrimitiveTypes.Int64),
		f(colStoreAndFwdFlag, arrow.BinaryTypes.LargeString),
		f(colPULocationID, arrow.PrimitiveTypes.Int32),
		f(colDOLocationID, arrow.PrimitiveTypes.Int32),
		f(colPaymentType, arrow.PrimitiveTypes.Int64),
		f(colFareAmount, arrow.PrimitiveTypes.Float64),
		f(colExtra, arrow.PrimitiveTypes.Float64),
		f(colMTATax, arrow.PrimitiveTypes.Float64),
		f(colTipAmount, arrow.PrimitiveTypes.Float64),
		f(colTollsAmount, arrow.PrimitiveTypes.Float64),
		f(colImprovementSurcharge, arrow.PrimitiveTypes.Float64),
		f(colTotalAmount, arrow.PrimitiveTypes.Float64),
		f(colCongestionSurcharge, arrow.PrimitiveTypes.Float64),
		f(colAirportFee, arrow.PrimitiveTypes.Float64),
	}, nil)
}
