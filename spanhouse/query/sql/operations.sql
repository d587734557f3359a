-- operations: span names and kinds, of one service (primary key prefix) or of all.
-- ${filters} is empty or fixed conditions on {service:String} / {kinds:Array(String)}.
SELECT DISTINCT toString(SpanName) AS name, toString(SpanKind) AS kind
FROM ${traces}
WHERE 1${filters}
