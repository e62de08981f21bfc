package taxi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// trip is one row read back; nullable columns are pointers.
type trip struct {
	vendor                       int32
	pickup, dropoff              time.Time
	passengers, rate             *int64
	distance                     float64
	flag                         *string
	pu, do                       int32
	payment                      int64
	fare, extra, mta, tip, tolls float64
	improve, total               float64
	congestion, airport          *float64
}

// readFile reads a whole file; reader panics (arrow-go panics on some
// missing-key cases) are returned as errors.
func readFile(path string, dec *parquet.FileDecryptionProperties) (sch *arrow.Schema, trips []trip, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("reader panic: %v", r)
		}
	}()
	props := parquet.NewReaderProperties(memory.DefaultAllocator)
	props.FileDecryptProps = dec
	rdr, err := file.OpenParquetFile(path, false, file.WithReadProps(props))
	if err != nil {
		return nil, nil, err
	}
	defer rdr.Close()
	fr, err := pqarrow.NewFileReader(rdr, pqarrow.ArrowReadProperties{BatchSize: 1 << 16}, memory.DefaultAllocator)
	if err != nil {
		return nil, nil, err
	}
	tbl, err := fr.ReadTable(context.Background())
	if err != nil {
		return nil, nil, err
	}
	defer tbl.Release()
	rr := array.NewTableReader(tbl, 1<<16)
	defer rr.Release()
	for rr.Next() {
		trips = append(trips, recordTrips(rr.RecordBatch())...)
	}
	return tbl.Schema(), trips, rr.Err()
}

func recordTrips(rec arrow.RecordBatch) []trip {
	col := func(i int) arrow.Array { return rec.Column(i) }
	i64p := func(a arrow.Array, r int) *int64 {
		if a.IsNull(r) {
			return nil
		}
		v := a.(*array.Int64).Value(r)
		return &v
	}
	f64p := func(a arrow.Array, r int) *float64 {
		if a.IsNull(r) {
			return nil
		}
		v := a.(*array.Float64).Value(r)
		return &v
	}
	f64 := func(i, r int) float64 { return col(i).(*array.Float64).Value(r) }
	ts := func(i, r int) time.Time {
		return col(i).(*array.Timestamp).Value(r).ToTime(arrow.Microsecond)
	}
	out := make([]trip, rec.NumRows())
	for r := range out {
		t := &out[r]
		t.vendor = col(idxVendorID).(*array.Int32).Value(r)
		t.pickup, t.dropoff = ts(idxPickup, r), ts(idxDropoff, r)
		t.passengers = i64p(col(idxPassengerCount), r)
		t.distance = f64(idxTripDistance, r)
		t.rate = i64p(col(idxRatecodeID), r)
		if a := col(idxStoreAndFwdFlag); !a.IsNull(r) {
			s := a.(*array.LargeString).Value(r)
			t.flag = &s
		}
		t.pu = col(idxPULocationID).(*array.Int32).Value(r)
		t.do = col(idxDOLocationID).(*array.Int32).Value(r)
		t.payment = col(idxPaymentType).(*array.Int64).Value(r)
		t.fare, t.extra, t.mta = f64(idxFareAmount, r), f64(idxExtra, r), f64(idxMTATax, r)
		t.tip, t.tolls = f64(idxTipAmount, r), f64(idxTollsAmount, r)
		t.improve, t.total = f64(idxImprovementSurcharge, r), f64(idxTotalAmount, r)
		t.congestion = f64p(col(idxCongestionSurcharge), r)
		t.airport = f64p(col(idxAirportFee), r)
	}
	return out
}

// checkTrip returns the invariants trip t violates; from and to bound the
// pickup time (the requested months).
func checkTrip(t trip, from, to time.Time) []string {
	var bad []string
	deref := func(p *float64) float64 {
		if p == nil {
			return 0
		}
		return *p
	}
	sum := t.fare + t.extra + t.mta + t.tip + t.tolls + t.improve + deref(t.congestion) + deref(t.airport)
	if math.Abs(sum-t.total) > 0.01 {
		bad = append(bad, "total")
	}
	if !t.dropoff.After(t.pickup) {
		bad = append(bad, "dropoff")
	}
	if t.pickup.Before(from) || !t.pickup.Before(to) {
		bad = append(bad, "pickup range")
	}
	if t.payment == 2 && t.tip != 0 {
		bad = append(bad, "cash tip")
	}
	unknown := t.payment == 0
	nulls := []bool{t.passengers == nil, t.rate == nil, t.flag == nil, t.congestion == nil, t.airport == nil}
	for _, isNull := range nulls {
		if isNull != unknown {
			bad = append(bad, "null pattern")
			break
		}
	}
	if t.distance <= 0 || t.fare <= 0 {
		bad = append(bad, "non-positive")
	}
	if t.airport != nil && *t.airport != 0 && t.pu != zoneJFK && t.pu != zoneLGA {
		bad = append(bad, "airport fee")
	}
	if t.rate != nil && *t.rate == 2 && t.fare != 70 {
		bad = append(bad, "JFK flat fare")
	}
	if t.mta != 0.5 || t.improve != 1 {
		bad = append(bad, "fixed surcharges")
	}
	return bad
}

// hashTree returns relative path -> SHA-256 for every file under dir,
// temporary ones included.
func hashTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		h := sha256.Sum256(b)
		out[filepath.ToSlash(rel)] = hex.EncodeToString(h[:])
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// tempFiles lists leftover temporary files under dir.
func tempFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	for p := range hashTree(t, dir) {
		if strings.HasSuffix(p, ".tmp") || strings.HasPrefix(filepath.Base(p), ".") {
			out = append(out, p)
		}
	}
	return out
}
