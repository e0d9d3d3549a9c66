package sqlstore

import "github.com/geneguard/geneguard/platform"

// TxSetting reads a PostgreSQL setting as the transaction sees it.
func TxSetting(t platform.Tx, name string) (string, error) {
	var v string
	err := t.(*tx).tx.QueryRowContext(t.(*tx).ctx, "SELECT current_setting($1)", name).Scan(&v)
	return v, err
}
