package audit_test

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/geneguard/geneguard/audit"
)

// Example shows the life of the log as a store drives it: append events,
// sign a checkpoint, hand out a receipt, audit the whole log.
func Example() {
	ctx := context.Background()
	signer, _ := audit.NewSigner(testSKey) // from the secret store; see GenerateKey
	verifier, _ := audit.NewVerifier(testVKey)

	var rows []audit.Row
	b := audit.NewBuilder()
	for i, action := range []string{"consent.grant", "ingest", "run", "view"} {
		e := audit.Event{
			Seq: uint64(i), Time: time.Date(2026, 3, 1, 9, i, 0, 0, time.UTC),
			Actor: "EE38001085718", Role: "clinician", Person: "pz-7f3a", Action: action,
		}
		if err := e.Validate(); err != nil {
			panic(err)
		}
		row := audit.Row{Seq: e.Seq, Canonical: e.Canonical(), LeafHash: audit.LeafHash(e)}
		rows = append(rows, row)
		_ = b.Append(row.LeafHash)
	}
	cp, _ := signer.SignCheckpoint(signer.Origin(), b.Size(), b.Root())

	var src memSource
	for _, r := range rows {
		src = append(src, r.LeafHash)
	}
	receipt, _ := audit.NewReceipt(ctx, src, rows[2], cp, verifier)
	fmt.Println("receipt:", audit.VerifyReceipt(receipt, testVKey))
	fmt.Println("audit:", audit.Verify(ctx, audit.Rows(rows), [][]byte{cp}, verifier))

	// Someone deletes the "ingest" row.
	fmt.Println(audit.Verify(ctx, audit.Rows(slices.Delete(rows, 1, 2)), [][]byte{cp}, verifier))
	// Output:
	// receipt: <nil>
	// audit: <nil>
	// audit: log tampered at index 1: seq 1 missing (next stored row is 2): deleted or reordered
}
