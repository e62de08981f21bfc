package pme_test

import (
	"bytes"
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/cofre-cc/cofre/analytics/pme"
)

func Example() {
	ctx := context.Background()
	// In a workload: &pme.CoordinatorKMS{C: coordinatorClient}.
	kms, err := pme.NewMemoryKMS(map[string][]byte{
		"footer": []byte("0123456789012345"),
		"pii":    []byte("1234567890123450"),
	})
	if err != nil {
		panic(err)
	}
	f := pme.NewFactory(kms, pme.FactoryOptions{})

	// Write: fresh DEKs per file, the footer under "footer", column "name"
	// under "pii", column "n" in plaintext.
	props, err := f.EncryptionProperties(ctx, pme.Config{FooterKey: "footer", ColumnKeys: "pii:name"})
	if err != nil {
		panic(err)
	}
	sc := arrow.NewSchema([]arrow.Field{{Name: "n", Type: arrow.PrimitiveTypes.Int64}, {Name: "name", Type: arrow.BinaryTypes.String}}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, sc)
	b.Field(0).(*array.Int64Builder).AppendValues([]int64{1, 2}, nil)
	b.Field(1).(*array.StringBuilder).AppendValues([]string{"ana", "rui"}, nil)
	rec := b.NewRecordBatch()
	tbl := array.NewTableFromRecords(sc, []arrow.RecordBatch{rec})
	var buf bytes.Buffer
	if err := pqarrow.WriteTable(tbl, &buf, 1024, parquet.NewWriterProperties(parquet.WithEncryptionProperties(props)), pqarrow.DefaultWriterProps()); err != nil {
		panic(err)
	}

	// Read: one DecryptionProperties for the dataset.
	rdr, err := pme.OpenFile(bytes.NewReader(buf.Bytes()), f.DecryptionProperties(ctx), nil)
	if err != nil {
		panic(err)
	}
	out, err := pme.ReadTable(ctx, rdr, nil, nil)
	if err != nil {
		panic(err)
	}
	fmt.Println(out.NumRows(), out.Column(1).Data().Chunk(0))
	// Output: 2 ["ana" "rui"]
}
