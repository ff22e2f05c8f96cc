"""Evidence for data that left the gateway, in one place: canonical JSON (canonical.py), the Merkle tree
(merkle.py), the append-only receipt log (log.py), what a receipt records (records.py), the receipt
service and the offline verifier (receipts.py), and the keys and JOSE signatures behind them and
behind access tokens (crypto.py, the only module that imports jose). docs/receipts.md specifies the
format; nothing here imports the schema or the HTTP layer."""
