// Package audit is the pure-domain core of geneguard's tamper-evident audit
// log. It knows nothing about databases or HTTP: stores append one [Event]
// per action inside the same transaction as the action, keep the event's
// canonical bytes and RFC 6962 leaf hash, and periodically sign a checkpoint
// (C2SP tlog-checkpoint as a C2SP signed note). This package provides
//
//   - the canonical encoding of an event ([Event.Canonical], [ParseCanonical])
//     and its leaf hash ([LeafHash]);
//   - Merkle tree maths delegated to github.com/transparency-dev/merkle
//     ([Root], [Builder], [InclusionProof], [ConsistencyProof]);
//   - checkpoint signing and opening ([Signer], [OpenCheckpoint]);
//   - offline receipts a patient can check without trusting the platform
//     ([Receipt], [VerifyReceipt]);
//   - a full audit of stored rows against stored checkpoints ([Verify]) that
//     names the first tampered index.
//
// Why a Merkle log rather than a hash chain: a checkpoint commits to every
// earlier entry, yet any single entry can be proven included (O(log n)) and
// any two checkpoints proven consistent, so receipts and external witnesses
// work without handing out the whole log.
package audit
