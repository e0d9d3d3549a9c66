// Package pgx calls pharmacogenomic (PGx) star-allele diplotypes from VCF
// genotypes, turns them into metabolizer phenotypes and looks up prescribing
// guidance.
//
// The matcher follows the semantics of PharmCAT's Named Allele Matcher so that
// a physician sees the same call the reference tool would make:
//
//   - allele definitions are data (CPIC/PharmCAT "<GENE>_translation.json"),
//     and the reference allele is whichever one the file flags (for CYP2C19
//     that is *38, not *1);
//   - a position that is absent from the VCF or called "./." is never assumed
//     to be reference: it is removed from every allele, which can leave
//     several alleles indistinguishable, and then every tied call is returned;
//   - unphased heterozygous sites are resolved by trying every strand
//     assignment; phased sites (and PS phase sets) constrain them;
//   - an allele's score is the number of positions it defines among those the
//     sample has data for, and "top" mode keeps every diplotype tied at the
//     highest score;
//   - an ALT the definition does not know makes the gene uncallable
//     (NO_CALL with a reason) except for the genes where PharmCAT reads
//     unknown alleles as reference.
//
// The package imports no database or network code: callers hand it a
// *vcf.Reader or an in-memory Sample, and get JSON-friendly values back.
package pgx
