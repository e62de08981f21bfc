// Package taxi generates synthetic NYC Yellow Taxi trip records in the TLC's
// current (2024) Parquet schema, for benchmarks and demos of confidential
// analytics that need realistic data at any scale without downloading it.
//
// Call Generate with Options; it writes Hive-partitioned Parquet files
// (Dir/year=YYYY/month=MM/part-NNNNN.parquet) in parallel and returns the
// list of files. Schema returns the files' Arrow schema. For the same
// options and seed the plaintext output is byte-identical whatever the
// number of workers. With Options.Encryption each file is written with
// Parquet Modular Encryption, using the properties (and keys) the callback
// returns for it; this package makes no keys and talks to no KMS.
//
// # The model
//
// The numbers are plausible, not fitted; each choice is documented where
// it is made (plan.go, model.go, zones.go). In short:
//
//   - Volume: rows are spread over the months in proportion to days times a
//     seasonal weight (2024's monthly totals: quiet January, July, August;
//     busy October), then split evenly into files of at most FileRows.
//   - Pickup time: an hour-of-day profile for weekdays (evening peak around
//     18:00, a trough at 04:00) and one for weekends (busy small hours), and
//     a weekday weight (Thursday busiest, Sunday quietest). Times are drawn
//     by stratified sampling, so they are sorted within each file and each
//     row group covers its own span of time (min/max statistics let readers
//     prune by time). Times are whole seconds, naive New York wall-clock
//     time, as in the TLC files.
//   - Zones: pickup and drop-off zones from a weighted table of the 265 TLC
//     zones, Manhattan about 90% (Midtown and the Upper East Side lead).
//     About 4.5% of trips touch JFK (132), 3.5% LaGuardia (138), 0.3% go
//     to Newark (1); 55% of airport trips start there.
//   - Distance: log-normal, median 1.7 mi, for city trips; about 17.5 mi
//     for JFK, 9.5 mi for LaGuardia, 18 mi for Newark. Short trips often
//     stay in their pickup zone.
//   - Duration: distance over a speed that depends on the hour (about 8.5
//     mph in the afternoon peak, 20 mph at night, faster on weekend days),
//     rises with trip length, and has ±25% noise; plus 30-120 s.
//   - Fare (TLC rates of 2024): $3.00 plus $0.70 per 1/5 mile or per 60 s
//     at low speed (RatecodeID 1 and 4); a $70 flat fare for JFK to or from
//     Manhattan (RatecodeID 2, plus $5 on weekday afternoons); the metered
//     fare plus a $20 Newark surcharge in extra (RatecodeID 3); a round
//     negotiated price (RatecodeID 5).
//   - Surcharges: extra $2.50 on weekdays 16:00-20:00 and $1.00 overnight;
//     mta_tax $0.50; improvement_surcharge $1.00; congestion_surcharge
//     $2.50 when either end is in Manhattan; Airport_fee $1.75 for pickups
//     at JFK or LaGuardia; tolls of $6.94 on about a third of airport and
//     long trips. total_amount is the exact sum (amounts are computed in
//     cents).
//   - Payment: card 75%, cash 17%, no charge and dispute 3%, and 4.5%
//     "unknown" records (payment_type 0) whose passenger_count, RatecodeID,
//     store_and_fwd_flag, congestion_surcharge and Airport_fee are null
//     together, as in the TLC data. Card trips tip 20%, 25% or 30% of the
//     fare and surcharges (the tablet's buttons), 10-20%, or nothing (15%);
//     cash tips are never recorded.
//   - passenger_count: 1 for about 76%, 2 for 15%, up to 6; 0 for 1.5%.
//   - VendorID 2 for 76%, else 1; store_and_fwd_flag "Y" on 2% of VendorID
//     1 trips.
//
// # What it does not do
//
// It does not reproduce the TLC data's errors and oddities (negative
// amounts for refunds, trips spanning days, zero distances, RatecodeID 99),
// holidays, weather, or the 2025 cbd_congestion_fee column. Zones, distance
// and duration are drawn independently apart from airports, so a trip's
// distance need not match its zones. Encrypted output is not reproducible
// (its nonces are random). Files are written to a local directory only.
package taxi
