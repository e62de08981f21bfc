package taxi

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/schema"
)

// small is a quick configuration: two months, several files each, several
// row groups per file.
func small(dir string) Options {
	return Options{
		Rows:         30_000,
		Seed:         7,
		Dir:          dir,
		Start:        time.Date(2024, time.February, 1, 0, 0, 0, 0, time.UTC),
		Months:       2,
		FileRows:     6_000,
		RowGroupRows: 2_500,
	}
}

func TestSchema(t *testing.T) {
	// The TLC's 2024 yellow_tripdata files, as pyarrow prints them.
	want := []struct{ name, typ string }{
		{"VendorID", "int32"},
		{"tpep_pickup_datetime", "timestamp[us]"},
		{"tpep_dropoff_datetime", "timestamp[us]"},
		{"passenger_count", "int64"},
		{"trip_distance", "float64"},
		{"RatecodeID", "int64"},
		{"store_and_fwd_flag", "large_utf8"},
		{"PULocationID", "int32"},
		{"DOLocationID", "int32"},
		{"payment_type", "int64"},
		{"fare_amount", "float64"},
		{"extra", "float64"},
		{"mta_tax", "float64"},
		{"tip_amount", "float64"},
		{"tolls_amount", "float64"},
		{"improvement_surcharge", "float64"},
		{"total_amount", "float64"},
		{"congestion_surcharge", "float64"},
		{"Airport_fee", "float64"},
	}
	s := Schema()
	if s.NumFields() != len(want) || numColumns != len(want) {
		t.Fatalf("fields = %d, numColumns = %d, want %d", s.NumFields(), numColumns, len(want))
	}
	for i, w := range want {
		f := s.Field(i)
		if f.Name != w.name || f.Type.String() != w.typ || !f.Nullable {
			t.Errorf("field %d = %s %s nullable=%v, want %s %s nullable", i, f.Name, f.Type, f.Nullable, w.name, w.typ)
		}
	}
	// Each call returns an independent schema.
	if !Schema().Equal(s) {
		t.Error("Schema() differs between calls")
	}

	// What lands in the file: the stored Arrow schema round-trips, and the
	// Parquet timestamps are MICROS, not adjusted to UTC (naive local time).
	dir := t.TempDir()
	opts := small(dir)
	opts.Rows, opts.Months = 100, 1
	files, err := Generate(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := readFile(filepath.Join(dir, files[0].RelPath), nil)
	if err != nil {
		t.Fatal(err)
	}
	// The reader adds PARQUET:field_id metadata; names, types and
	// nullability must match.
	for i, f := range got.Fields() {
		w := s.Field(i)
		if f.Name != w.Name || !arrow.TypeEqual(f.Type, w.Type) || f.Nullable != w.Nullable {
			t.Errorf("file field %d = %s, want %s", i, f, w)
		}
	}
	if got.NumFields() != s.NumFields() {
		t.Errorf("file has %d fields, want %d", got.NumFields(), s.NumFields())
	}
	rdr, err := file.OpenParquetFile(filepath.Join(dir, files[0].RelPath), false)
	if err != nil {
		t.Fatal(err)
	}
	defer rdr.Close()
	col := rdr.MetaData().Schema.Column(idxPickup)
	ts, ok := col.LogicalType().(schema.TimestampLogicalType)
	if !ok || ts.IsAdjustedToUTC() || ts.TimeUnit() != schema.TimeUnitMicros {
		t.Errorf("pickup logical type = %s, want Timestamp(isAdjustedToUTC=false, MICROS)", col.LogicalType())
	}
	if got, err := rdr.MetaData().RowGroup(0).ColumnChunk(0); err != nil {
		t.Fatal(err)
	} else if c := got.Compression(); c != compress.Codecs.Snappy {
		t.Errorf("compression = %s, want SNAPPY", c)
	}
	if _, ok := rdr.MetaData().Schema.Root().Field(0).(*schema.PrimitiveNode); !ok {
		t.Error("VendorID is not a primitive column")
	}
	for i := range numColumns {
		if rep := rdr.MetaData().Schema.Column(i).SchemaNode().RepetitionType(); rep != parquet.Repetitions.Optional {
			t.Errorf("column %d repetition = %s, want OPTIONAL", i, rep)
		}
	}
}

func TestDeterministicAcrossWorkers(t *testing.T) {
	var trees []map[string]string
	for _, workers := range []int{1, 3} {
		dir := t.TempDir()
		opts := small(dir)
		opts.Workers = workers
		if _, err := Generate(context.Background(), opts); err != nil {
			t.Fatalf("workers=%d: %v", workers, err)
		}
		trees = append(trees, hashTree(t, dir))
	}
	if len(trees[0]) < 4 {
		t.Fatalf("only %d files; the test needs several", len(trees[0]))
	}
	if !reflect.DeepEqual(trees[0], trees[1]) {
		t.Errorf("1 worker and 3 workers differ:\n%v\n%v", trees[0], trees[1])
	}

	// Negative: another seed gives other bytes in every file.
	dir := t.TempDir()
	opts := small(dir)
	opts.Seed++
	if _, err := Generate(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	other := hashTree(t, dir)
	for p, h := range trees[0] {
		if other[p] == h {
			t.Errorf("%s identical with another seed", p)
		}
	}
}

func TestInvariants(t *testing.T) {
	dir := t.TempDir()
	opts := small(dir)
	files, err := Generate(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	from := opts.Start
	to := from.AddDate(0, opts.Months, 0)
	var all []trip
	for _, f := range files {
		_, trips, err := readFile(filepath.Join(dir, f.RelPath), nil)
		if err != nil {
			t.Fatal(err)
		}
		// Pickups are in order within a file and inside its partition.
		mFrom := time.Date(f.Year, time.Month(f.Month), 1, 0, 0, 0, 0, time.UTC)
		for i, tr := range trips {
			if i > 0 && tr.pickup.Before(trips[i-1].pickup) {
				t.Fatalf("%s row %d: pickup before the previous row", f.RelPath, i)
			}
			if tr.pickup.Before(mFrom) || !tr.pickup.Before(mFrom.AddDate(0, 1, 0)) {
				t.Fatalf("%s row %d: pickup %s outside its partition", f.RelPath, i, tr.pickup)
			}
		}
		all = append(all, trips...)
	}
	if int64(len(all)) != opts.Rows {
		t.Fatalf("read %d rows, want %d", len(all), opts.Rows)
	}
	for i, tr := range all {
		if bad := checkTrip(tr, from, to); len(bad) > 0 {
			t.Fatalf("row %d violates %v: %+v", i, bad, tr)
		}
	}

	// Shares, loosely: they catch a broken distribution, not a slightly
	// different one.
	var unknown, one, card, cardTipped, ev, night, jfk int
	for _, tr := range all {
		switch {
		case tr.payment == 0:
			unknown++
		case tr.payment == 1:
			card++
			if tr.tip > 0 {
				cardTipped++
			}
		}
		if tr.passengers != nil && *tr.passengers == 1 {
			one++
		}
		if h := tr.pickup.Hour(); h >= 17 && h < 20 {
			ev++
		} else if h >= 3 && h < 6 {
			night++
		}
		if tr.rate != nil && *tr.rate == 2 {
			jfk++
		}
	}
	n := float64(len(all))
	checks := []struct {
		name   string
		got    float64
		lo, hi float64
	}{
		{"unknown share", float64(unknown) / n, 0.03, 0.06},
		{"one-passenger share", float64(one) / n, 0.6, 0.8},
		{"card share", float64(card) / n, 0.7, 0.8},
		{"card trips tipped", float64(cardTipped) / float64(card), 0.8, 0.95},
		{"evening/small-hours ratio", float64(ev) / float64(night), 4, 40},
		{"JFK flat-fare share", float64(jfk) / n, 0.01, 0.05},
	}
	for _, c := range checks {
		if c.got < c.lo || c.got > c.hi {
			t.Errorf("%s = %.3f, want %.3f..%.3f", c.name, c.got, c.lo, c.hi)
		}
	}
}

// TestCheckTrip makes sure each invariant check can fail.
func TestCheckTrip(t *testing.T) {
	from := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	to := from.AddDate(0, 1, 0)
	one, two := int64(1), int64(2)
	n := "N"
	zero, fee := 0.0, 2.5
	good := trip{
		vendor: 2, pickup: from.Add(time.Hour), dropoff: from.Add(time.Hour + 10*time.Minute),
		passengers: &one, rate: &one, distance: 2, flag: &n, pu: 161, do: 236, payment: 1,
		fare: 14.9, extra: 0, mta: 0.5, tip: 3, tolls: 0, improve: 1, total: 21.9,
		congestion: &fee, airport: &zero,
	}
	if bad := checkTrip(good, from, to); len(bad) > 0 {
		t.Fatalf("good trip fails %v", bad)
	}
	tests := []struct {
		name string
		edit func(*trip)
		want string
	}{
		{"total", func(t *trip) { t.total += 0.02 }, "total"},
		{"dropoff", func(t *trip) { t.dropoff = t.pickup }, "dropoff"},
		{"before range", func(t *trip) { t.pickup, t.dropoff = from.Add(-time.Hour), from }, "pickup range"},
		{"after range", func(t *trip) { t.pickup, t.dropoff = to, to.Add(time.Hour) }, "pickup range"},
		{"cash tip", func(t *trip) { t.payment = 2 }, "cash tip"},
		{"null without unknown", func(t *trip) { t.rate = nil }, "null pattern"},
		{"unknown without nulls", func(t *trip) { t.payment = 0 }, "null pattern"},
		{"zero distance", func(t *trip) { t.distance = 0 }, "non-positive"},
		{"airport fee", func(t *trip) { f := 1.75; t.airport = &f; t.total += 1.75 }, "airport fee"},
		{"JFK fare", func(t *trip) { t.rate = &two }, "JFK flat fare"},
		{"mta", func(t *trip) { t.mta = 0; t.total -= 0.5 }, "fixed surcharges"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := good
			tc.edit(&tr)
			if bad := checkTrip(tr, from, to); !slices.Contains(bad, tc.want) {
				t.Errorf("violations = %v, want %q among them", bad, tc.want)
			}
		})
	}
}

func TestRowsAddUp(t *testing.T) {
	dir := t.TempDir()
	opts := small(dir)
	opts.Rows = 25_001 // not a multiple of anything
	opts.Months = 3
	files, err := Generate(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	perPartition := map[string]int64{}
	for _, f := range files {
		p := filepath.Join(dir, filepath.FromSlash(f.RelPath))
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if st.Size() != f.Bytes {
			t.Errorf("%s: Bytes = %d, file has %d", f.RelPath, f.Bytes, st.Size())
		}
		wantDir := filepath.Join(dir, "year="+itoa(f.Year, 4), "month="+itoa(f.Month, 2))
		if filepath.Dir(p) != wantDir {
			t.Errorf("%s not under %s", f.RelPath, wantDir)
		}
		if f.Rows > opts.FileRows {
			t.Errorf("%s: %d rows > FileRows %d", f.RelPath, f.Rows, opts.FileRows)
		}
		rdr, err := file.OpenParquetFile(p, false)
		if err != nil {
			t.Fatal(err)
		}
		if rdr.NumRows() != f.Rows {
			t.Errorf("%s: footer says %d rows, File.Rows %d", f.RelPath, rdr.NumRows(), f.Rows)
		}
		for g := range rdr.NumRowGroups() {
			if n := rdr.MetaData().RowGroup(g).NumRows(); n > opts.RowGroupRows {
				t.Errorf("%s row group %d: %d rows > %d", f.RelPath, g, n, opts.RowGroupRows)
			}
		}
		rdr.Close()
		total += f.Rows
		perPartition[filepath.Dir(f.RelPath)] += f.Rows
	}
	if total != opts.Rows {
		t.Errorf("files hold %d rows, want %d", total, opts.Rows)
	}
	if len(perPartition) != 3 {
		t.Errorf("partitions = %v, want 3", perPartition)
	}
	// March is longer and busier than February: it gets more rows.
	if perPartition["year=2024/month=03"] <= perPartition["year=2024/month=02"] {
		t.Errorf("March %d rows <= February %d", perPartition["year=2024/month=03"], perPartition["year=2024/month=02"])
	}
	if tmp := tempFiles(t, dir); len(tmp) > 0 {
		t.Errorf("temporary files left: %v", tmp)
	}
}

func itoa(v, width int) string {
	s := []byte{}
	for ; width > 0 || v > 0; width-- {
		s = append([]byte{byte('0' + v%10)}, s...)
		v /= 10
	}
	return string(s)
}

func TestPlanMonths(t *testing.T) {
	tests := []struct {
		name      string
		rows      int64
		start     time.Time
		months    int
		fileRows  int64
		wantRows  []int64 // per month, if set
		wantDays  []int
		wantFiles int
	}{
		{"leap February", 290, time.Date(2024, 2, 1, 0, 0, 0, 0, time.UTC), 1, 100, []int64{290}, []int{29}, 3},
		{"year wrap", 1000, time.Date(2023, 12, 15, 9, 0, 0, 0, time.UTC), 2, 1000, nil, []int{31, 31}, 2},
		{"fewer rows than months", 2, time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), 12, 10, nil, nil, 2},
		{"even split", 10, time.Date(2025, 2, 1, 0, 0, 0, 0, time.UTC), 1, 4, []int64{10}, []int{28}, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := newConfig(Options{Rows: tc.rows, Dir: "x", Start: tc.start, Months: tc.months, FileRows: tc.fileRows})
			if err != nil {
				t.Fatal(err)
			}
			months, files := planMonths(&c)
			var sum int64
			for i, m := range months {
				sum += m.rows
				if tc.wantRows != nil && m.rows != tc.wantRows[i] {
					t.Errorf("month %d rows = %d, want %d", i, m.rows, tc.wantRows[i])
				}
				if tc.wantDays != nil && m.days != tc.wantDays[i] {
					t.Errorf("month %d days = %d, want %d", i, m.days, tc.wantDays[i])
				}
				if m.rows > 0 && (m.cdf[0] != 0 || m.cdf[len(m.cdf)-1] != 1 || len(m.cdf) != m.days*24+1) {
					t.Errorf("month %d: bad cdf ends or length", i)
				}
			}
			if sum != tc.rows {
				t.Errorf("months hold %d rows, want %d", sum, tc.rows)
			}
			if len(files) != tc.wantFiles {
				t.Errorf("files = %d, want %d", len(files), tc.wantFiles)
			}
			for i, f := range files {
				if f.index != i {
					t.Errorf("file %d has index %d", i, f.index)
				}
			}
			if tc.name == "year wrap" && (months[0].year != 2023 || months[0].month != 12 || months[1].year != 2024 || months[1].month != 1) {
				t.Errorf("months = %d-%d, %d-%d", months[0].year, months[0].month, months[1].year, months[1].month)
			}
			if tc.name == "even split" && (files[0].rows != 4 || files[1].rows != 3 || files[2].rows != 3) {
				t.Errorf("file rows = %d %d %d, want 4 3 3", files[0].rows, files[1].rows, files[2].rows)
			}
		})
	}
}

func TestOptionErrors(t *testing.T) {
	base := func() Options { return Options{Rows: 10, Dir: t.TempDir()} }
	tests := []struct {
		name  string
		edit  func(*Options)
		field string
	}{
		{"no rows", func(o *Options) { o.Rows = 0 }, "Rows"},
		{"negative rows", func(o *Options) { o.Rows = -1 }, "Rows"},
		{"no dir", func(o *Options) { o.Dir = "" }, "Dir"},
		{"negative months", func(o *Options) { o.Months = -1 }, "Months"},
		{"too many months", func(o *Options) { o.Months = maxMonths + 1 }, "Months"},
		{"year past 9999", func(o *Options) { o.Start = time.Date(9999, 6, 1, 0, 0, 0, 0, time.UTC) }, "Start"},
		{"year before 1", func(o *Options) { o.Start = time.Date(0, 6, 1, 0, 0, 0, 0, time.UTC) }, "Start"},
		{"negative file rows", func(o *Options) { o.FileRows = -5 }, "FileRows"},
		{"too many files", func(o *Options) { o.Rows, o.FileRows = maxFiles+1, 1 }, "FileRows"},
		{"negative row group", func(o *Options) { o.RowGroupRows = -1 }, "RowGroupRows"},
		{"huge row group", func(o *Options) { o.RowGroupRows = maxRowGroupRows + 1 }, "RowGroupRows"},
		{"negative workers", func(o *Options) { o.Workers = -2 }, "Workers"},
		{"too many workers", func(o *Options) { o.Workers = maxWorkers + 1 }, "Workers"},
		{"unknown codec", func(o *Options) { o.Compression = compress.Compression(99) }, "Compression"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := base()
			tc.edit(&o)
			files, err := Generate(context.Background(), o)
			var oe *OptionError
			if !errors.Is(err, ErrInvalidOptions) || !errors.As(err, &oe) || oe.Field != tc.field {
				t.Fatalf("err = %v, want an OptionError for %s", err, tc.field)
			}
			if files != nil {
				t.Errorf("files = %v, want none", files)
			}
		})
	}

	// All failures are reported at once.
	_, err := Generate(context.Background(), Options{Rows: -1, Months: -1})
	for _, f := range []string{"Rows", "Dir", "Months"} {
		if !containsField(err, f) {
			t.Errorf("joined error %v lacks field %s", err, f)
		}
	}

	// The edge values are accepted.
	c, err := newConfig(Options{Rows: 1, Dir: "x", Months: maxMonths, RowGroupRows: maxRowGroupRows, Workers: maxWorkers, Start: time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Errorf("edge values refused: %v", err)
	}
	if c.rowGroupRows != defaultFileRows {
		t.Errorf("row group rows = %d, want clamped to FileRows %d", c.rowGroupRows, defaultFileRows)
	}
}

func containsField(err error, field string) bool {
	j, ok := err.(interface{ Unwrap() []error })
	if !ok {
		return false
	}
	for _, e := range j.Unwrap() {
		var oe *OptionError
		if errors.As(e, &oe) && oe.Field == field {
			return true
		}
	}
	return false
}

func TestDirChecks(t *testing.T) {
	// A non-empty directory is refused and left alone.
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "keep"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Generate(context.Background(), Options{Rows: 10, Dir: dir}); !errors.Is(err, ErrDirNotEmpty) {
		t.Errorf("non-empty dir: err = %v, want ErrDirNotEmpty", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("dir now has %d entries, want 1", len(entries))
	}
	// A previous run's output is refused too.
	dir = t.TempDir()
	if _, err := Generate(context.Background(), Options{Rows: 10, Dir: dir, Months: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := Generate(context.Background(), Options{Rows: 10, Dir: dir, Months: 1}); !errors.Is(err, ErrDirNotEmpty) {
		t.Errorf("second run: err = %v, want ErrDirNotEmpty", err)
	}
	// A missing directory is created; a file in the way is an error.
	dir = filepath.Join(t.TempDir(), "a", "b")
	if _, err := Generate(context.Background(), Options{Rows: 10, Dir: dir, Months: 1}); err != nil {
		t.Errorf("missing dir: %v", err)
	}
	notDir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notDir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Generate(context.Background(), Options{Rows: 10, Dir: notDir}); err == nil || errors.Is(err, ErrDirNotEmpty) {
		t.Errorf("file as dir: err = %v, want a read error", err)
	}
}

// Test keys: fixed, test-only, and never used elsewhere.
const (
	testFooterKey = "0123456789abcdef" // 16 bytes: AES-128
	testWrongKey  = "fedcba9876543210"
)

func TestEncrypted(t *testing.T) {
	dir := t.TempDir()
	opts := small(dir)
	opts.Rows, opts.Months = 8_000, 1
	var mu sync.Mutex
	var paths []string
	opts.Encryption = func(rel string) (*parquet.FileEncryptionProperties, error) {
		mu.Lock()
		paths = append(paths, rel)
		mu.Unlock()
		return parquet.NewFileEncryptionProperties(testFooterKey, parquet.WithFooterKeyMetadata("test-footer-key")), nil
	}
	files, err := Generate(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(paths)
	var rels []string
	for _, f := range files {
		rels = append(rels, f.RelPath)
	}
	if !slices.Equal(paths, rels) {
		t.Errorf("Encryption called for %v, want %v", paths, rels)
	}

	// The same options in plaintext give the same rows.
	plainDir := t.TempDir()
	plainOpts := opts
	plainOpts.Dir, plainOpts.Encryption = plainDir, nil
	if _, err := Generate(context.Background(), plainOpts); err != nil {
		t.Fatal(err)
	}

	for _, f := range files {
		p := filepath.Join(dir, f.RelPath)
		raw, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		// An encrypted footer: the file ends in "PARE", not "PAR1".
		if string(raw[len(raw)-4:]) != "PARE" {
			t.Errorf("%s ends in %q, want PARE", f.RelPath, raw[len(raw)-4:])
		}
		good := parquet.NewFileDecryptionProperties(parquet.WithFooterKey(testFooterKey))
		_, got, err := readFile(p, good)
		if err != nil {
			t.Fatalf("%s with the key: %v", f.RelPath, err)
		}
		_, want, err := readFile(filepath.Join(plainDir, f.RelPath), nil)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: decrypted rows differ from the plaintext run", f.RelPath)
		}

		// Without the key, or with another, nothing is read.
		if _, _, err := readFile(p, nil); err == nil {
			t.Errorf("%s read without a key", f.RelPath)
		}
		wrong := parquet.NewFileDecryptionProperties(parquet.WithFooterKey(testWrongKey))
		if _, _, err := readFile(p, wrong); err == nil {
			t.Errorf("%s read with the wrong key", f.RelPath)
		}
	}
}

func TestEncryptionErrors(t *testing.T) {
	errKMS := errors.New("kms unavailable")
	used := parquet.NewFileEncryptionProperties(testFooterKey)
	used.SetUtilized()
	tests := []struct {
		name string
		enc  func(string) (*parquet.FileEncryptionProperties, error)
		want error
	}{
		{"callback error", func(string) (*parquet.FileEncryptionProperties, error) { return nil, errKMS }, errKMS},
		{"reused properties", func(string) (*parquet.FileEncryptionProperties, error) { return used, nil }, ErrReusedEncryption},
		{"one file fails", func(rel string) (*parquet.FileEncryptionProperties, error) {
			if rel == "year=2024/month=03/part-00001.parquet" {
				return nil, errKMS
			}
			return nil, nil // plaintext
		}, errKMS},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			opts := small(dir)
			opts.Encryption = tc.enc
			files, err := Generate(context.Background(), opts)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			// Files finished before the failure are returned and whole;
			// nothing else is left behind.
			if got := len(hashTree(t, dir)); got != len(files) {
				t.Errorf("%d files on disk, %d returned", got, len(files))
			}
			for _, f := range files {
				if _, _, err := readFile(filepath.Join(dir, f.RelPath), nil); err != nil {
					t.Errorf("returned file %s: %v", f.RelPath, err)
				}
			}
			if tmp := tempFiles(t, dir); len(tmp) > 0 {
				t.Errorf("temporary files left: %v", tmp)
			}
		})
	}
}

func TestCancel(t *testing.T) {
	// Cancel from Progress after the first row group: the run stops, no
	// temporary file remains, and every final-named file is whole.
	dir := t.TempDir()
	opts := small(dir)
	opts.Rows = 200_000
	opts.FileRows = 20_000
	opts.Workers = 2
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var calls []int64
	opts.Progress = func(n int64) {
		calls = append(calls, n) // calls are serialized
		cancel()
	}
	files, err := Generate(ctx, opts)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if len(calls) == 0 || calls[len(calls)-1] >= opts.Rows {
		t.Errorf("progress %v: the run did not stop early", calls)
	}
	if tmp := tempFiles(t, dir); len(tmp) > 0 {
		t.Errorf("temporary files left: %v", tmp)
	}
	tree := hashTree(t, dir)
	if len(tree) != len(files) {
		t.Errorf("%d files on disk, %d returned", len(tree), len(files))
	}
	for _, f := range files {
		rdr, err := file.OpenParquetFile(filepath.Join(dir, f.RelPath), false)
		if err != nil {
			t.Fatalf("returned file %s unreadable: %v", f.RelPath, err)
		}
		if rdr.NumRows() != f.Rows {
			t.Errorf("%s: %d rows, want %d", f.RelPath, rdr.NumRows(), f.Rows)
		}
		rdr.Close()
	}

	// An already-cancelled context writes nothing.
	dir = t.TempDir()
	ctx, cancel2 := context.WithCancel(context.Background())
	cancel2()
	files, err = Generate(ctx, small(dir))
	if !errors.Is(err, context.Canceled) || len(files) != 0 {
		t.Errorf("pre-cancelled: files %v, err %v", files, err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("pre-cancelled run left %v", entries)
	}
}

func TestProgress(t *testing.T) {
	dir := t.TempDir()
	opts := small(dir)
	opts.Workers = 3
	var calls []int64
	opts.Progress = func(n int64) { calls = append(calls, n) }
	if _, err := Generate(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	if !slices.IsSorted(calls) || len(calls) == 0 || calls[len(calls)-1] != opts.Rows {
		t.Errorf("progress = %v, want increasing to %d", calls, opts.Rows)
	}
}

func BenchmarkGenerate(b *testing.B) {
	const rows = 1 << 20
	for _, workers := range []int{1, 2} {
		b.Run("workers="+itoa(workers, 1), func(b *testing.B) {
			for b.Loop() {
				dir := b.TempDir()
				opts := Options{Rows: rows, Dir: dir, Months: 2, FileRows: rows / 4, RowGroupRows: rows / 8, Workers: workers}
				if _, err := Generate(context.Background(), opts); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
