package pme

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseColumnKeys(t *testing.T) {
	cases := []struct {
		in   string
		want map[string][]string // nil: ErrConfig
	}{
		{"k1:a", map[string][]string{"k1": {"a"}}},
		{"key1:colA,colB;key2:colC", map[string][]string{"key1": {"colA", "colB"}, "key2": {"colC"}}},
		{" key1 : colA , colB ; key2:colC ;", map[string][]string{"key1": {"colA", "colB"}, "key2": {"colC"}}},
		{";;k1:a.b.c;;", map[string][]string{"k1": {"a.b.c"}}},
		{"k1:a;k1:b", map[string][]string{"k1": {"a", "b"}}},
		{"", nil},
		{" ; ", nil},
		{"k1", nil},
		{"k1:", nil},
		{":a", nil},
		{"k1:a:b", nil},
		{"k1:a,,b", nil},
		{"k1:a,", nil},
		{"k1:a;k2:a", nil},
		{"k1:a,a", nil},
		{strings.Repeat("k", maxIDLen+1) + ":a", nil},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseColumnKeys(tc.in)
			if tc.want == nil {
				if !errors.Is(err, ErrConfig) {
					t.Fatalf("got %v, %v; want ErrConfig", got, err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

func TestConfigErrors(t *testing.T) {
	sc := testSchema(t)
	cases := []struct {
		name string
		cfg  Config
	}{
		{"nothing", Config{}},
		{"column keys only", Config{ColumnKeys: "kc1:ssn"}},
		{"footer key only", Config{FooterKey: "kf"}},
		{"uniform and footer", Config{UniformKey: "ku", FooterKey: "kf"}},
		{"uniform and columns", Config{UniformKey: "ku", ColumnKeys: "kc1:ssn"}},
		{"uniform and complete", Config{UniformKey: "ku", CompleteColumns: true, Schema: sc}},
		{"bad algorithm", Config{UniformKey: "ku", Algorithm: "AES_CBC"}},
		{"bad key length", Config{UniformKey: "ku", DataKeyLength: 512}},
		{"bad column keys", Config{FooterKey: "kf", ColumnKeys: "kc1"}},
		{"complete without schema", Config{FooterKey: "kf", ColumnKeys: "kc1:ssn", CompleteColumns: true}},
		{"column not in schema", Config{FooterKey: "kf", ColumnKeys: "kc1:nope", Schema: sc}},
		{"footer key too long", Config{FooterKey: strings.Repeat("k", maxIDLen+1), ColumnKeys: "kc1:ssn"}},
	}
	f := NewFactory(newTestKMS(t), FactoryOptions{})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.EncryptionProperties(context.Background(), tc.cfg)
			if !errors.Is(err, ErrConfig) {
				t.Fatalf("got %v, want ErrConfig", err)
			}
		})
	}
	// Every problem is reported, not just the first.
	_, err := f.EncryptionProperties(context.Background(), Config{Algorithm: "x", DataKeyLength: 1})
	for _, want := range []string{"algorithm", "length", "footer.key"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not mention %s", err, want)
		}
	}
}

func TestUnknownMasterKeyOnWrite(t *testing.T) {
	f := NewFactory(newTestKMS(t, "kf"), FactoryOptions{})
	for _, single := range []bool{false, true} {
		_, err := f.EncryptionProperties(context.Background(), Config{FooterKey: "kf", ColumnKeys: "nope:ssn", SingleWrapping: single})
		if !errors.Is(err, ErrNoKey) || !errors.Is(err, ErrUnknownMasterKey) {
			t.Fatalf("single=%v: got %v, want ErrNoKey and ErrUnknownMasterKey", single, err)
		}
	}
}
