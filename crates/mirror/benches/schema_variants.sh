#!/usr/bin/env bash
# What the shape of the `orders` table costs a 1M-order bulk load, measured with the sqlite3
# shell (no Rust, no binding): the rows go in with INSERT ... SELECT into a table that keeps
# the unique key and `orders_by_created` (as a bulk load does), then the other four indexes
# are built, each timed. Variants:
#   text      today's schema: account id as text (`acct-` + 12 hex), ISO-8601 timestamps
#   acct      account as an integer key
#   ts        timestamps as integer milliseconds
#   both      both
#   nounique  today's schema with the unique key built after the rows (as a sorted build)
#   cache256  today's schema with a 256 MB page cache instead of 64 MB
#   cache16   today's schema with a 16 MB page cache, the unique key built after the rows
#   threads   cache16 with `PRAGMA threads = 2` (sorter helper threads)
#   lean      cache16 with both an integer account and integer-ms timestamps
# Usage: bash crates/mirror/benches/schema_variants.sh [rounds (default 2)] [variants...]
# Needs the sqlite3 shell (apt: sqlite3) and about 2 GB in $TMPDIR.
set -euo pipefail
rounds=2
if [[ ${1-} =~ ^[0-9]+$ ]]; then
  rounds=$1
  shift
fi
variants=("$@")
[ ${#variants[@]} -gt 0 ] || variants=(text acct ts both nounique cache256)
for v in "${variants[@]}"; do
  case $v in text | acct | ts | both | nounique | cache256 | cache16 | threads | lean) ;; *)
    echo "unknown variant: $v (text, acct, ts, both, nounique, cache256, cache16, threads or lean)" >&2
    exit 2
    ;;
  esac
done
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

# 1M orders like the benchmark's: random UUID keys, creation times 25 s apart.
sqlite3 "$dir/src.db" >/dev/null <<'SQL'
PRAGMA journal_mode=OFF;
CREATE TABLE src AS WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 1000000)
SELECT i,
  lower(hex(randomblob(4))||'-'||hex(randomblob(2))||'-'||hex(randomblob(2))||'-'||hex(randomblob(2))||'-'||hex(randomblob(6))) AS osk,
  'ORD-' || (100000000 + i) AS moid,
  CASE i % 5 WHEN 0 THEN 1 WHEN 1 THEN 2 ELSE 5 END AS status_code,
  CASE i % 5 WHEN 0 THEN 'Approved' ELSE 'Declined' END AS status_name,
  CASE i % 3 WHEN 0 THEN 'APPROVED' WHEN 1 THEN 'DECLINED' ELSE 'CHALLENGE' END AS decision,
  CASE i % 4 WHEN 0 THEN 'approved' WHEN 1 THEN 'declined' WHEN 2 THEN 'pending' ELSE 'expired' END AS state,
  i % 2 AS is_mit, 1000 + (i * 7919) % 90000 AS amount, 0 AS captured, 0 AS refunded,
  CASE i % 10 WHEN 0 THEN 'EUR' ELSE 'USD' END AS currency,
  'customer' || i || '@example.com' AS email, 'Customer Name ' || i AS name,
  '411111' AS bin, printf('%04d', i % 10000) AS last4, CASE i % 4 WHEN 0 THEN NULL ELSE 'do_not_honor' END AS decline,
  'site-1' AS site,
  1735689600000 + i * 25000 AS created_ms, 1735689600000 + i * 25000 + 3600000 AS modified_ms,
  CASE i % 2 WHEN 1 THEN 1735689600000 + i * 25000 + 2592000000 END AS expiry_ms
FROM n;
SQL

run() {
  local v=$1 db="$dir/$1.db" account="'acct-0f8e4a6c2b1d'" account_type=TEXT ts_type=TEXT cache=65536
  local unique=", UNIQUE (account_id, order_session_key)" unique_after=""
  rm -f "$db" "$db-wal"
  case $v in acct | both | lean) account=1 account_type=INTEGER ;; esac
  case $v in ts | both | lean) ts_type=INTEGER ;; esac
  case $v in nounique) unique="" unique_after="CREATE UNIQUE INDEX orders_key ON orders (account_id, order_session_key);" ;; esac
  case $v in cache256) cache=262144 ;; esac
  local threads=0
  case $v in cache16 | threads | lean)
    unique="" unique_after="CREATE UNIQUE INDEX orders_key ON orders (account_id, order_session_key);"
    cache=16384
    ;;
  esac
  case $v in threads) threads=2 ;; esac
  t() { if [ "$ts_type" = INTEGER ]; then echo "$1"; else echo "strftime('%Y-%m-%dT%H:%M:%fZ', $1 / 1000.0, 'unixepoch')"; fi; }
  sqlite3 "$db" <<SQL | awk '/^Run Time/ {printf "%s ", $4} END {print ""}'
PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-$cache; PRAGMA temp_store=MEMORY; PRAGMA threads=$threads;
ATTACH '$dir/src.db' AS s;
CREATE TABLE pre AS SELECT i, osk, moid, status_code, status_name, decision, state, is_mit, amount, captured, refunded,
  currency, email, name, bin, last4, decline, site,
  $(t created_ms) AS placed, $(t created_ms) AS created, $(t modified_ms) AS modified, $(t expiry_ms) AS expiry FROM s.src;
CREATE TABLE orders (id INTEGER PRIMARY KEY, account_id $account_type NOT NULL, order_session_key TEXT NOT NULL,
  merchant_order_id TEXT, status_code INTEGER, status_name TEXT, decision TEXT, state TEXT NOT NULL, is_mit INTEGER NOT NULL,
  amount_cents INTEGER NOT NULL, captured_cents INTEGER NOT NULL, refunded_cents INTEGER NOT NULL, currency TEXT NOT NULL,
  email TEXT, customer_name TEXT, card_bin TEXT, card_last4 TEXT, decline_code TEXT, site_id TEXT, placed_at $ts_type,
  created_at $ts_type, modified_at $ts_type, expiry_at $ts_type, synced_at $ts_type NOT NULL, api_state TEXT,
  first_decision TEXT $unique);
CREATE INDEX orders_by_created ON orders (account_id, created_at);
.timer on
INSERT INTO orders SELECT NULL, $account, osk, moid, status_code, status_name, decision, state, is_mit, amount, captured,
  refunded, currency, email, name, bin, last4, decline, site, placed, created, modified, expiry, created, state, decision
  FROM pre ORDER BY i;
CREATE INDEX orders_by_state ON orders (account_id, state, created_at);
CREATE INDEX orders_by_amount ON orders (account_id, amount_cents);
CREATE INDEX orders_by_expiry ON orders (account_id, expiry_at);
CREATE INDEX orders_by_merchant_id ON orders (merchant_order_id);
$unique_after
SQL
  rm -f "$db" "$db-wal"
}

echo "seconds: rows, then the index builds (state, amount, expiry, merchant id[, unique key])"
for ((r = 1; r <= rounds; r++)); do
  for v in "${variants[@]}"; do
    printf '%-9s ' "$v"
    run "$v"
  done
done
