-- errors_by_service: the 5 most frequent status messages and operations of each service's
-- error spans in the window, ranked by the estimate (sum of ${w}: AdjustedCount), then the
-- stored count, then the text. ${error_spans} is the source of the window's error spans: the
-- traces table (PREWHERE on the window and the status), or Spanhouse's
-- {table}_entry_error_spans (its IsError = 1 range); the result is the same. 'detail' rows
-- group the operation with what makes a bare "POST" telling: its route (http.route, else
-- url.path, else http.target) and its peer (peer.service, else server.address, else
-- net.peer.name); they read the attributes, so always from the traces table.
SELECT 'message' AS what, toString(ServiceName) AS service, StatusMessage AS text,
       '' AS route, '' AS peer, count() AS n, sum(toFloat64(${w})) AS est
FROM ${error_spans}
WHERE StatusMessage != ''
GROUP BY service, text
ORDER BY service, est DESC, n DESC, text
LIMIT 5 BY service
UNION ALL
SELECT 'operation' AS what, toString(ServiceName) AS service, toString(SpanName) AS text,
       '' AS route, '' AS peer, count() AS n, sum(toFloat64(${w})) AS est
FROM ${error_spans}
GROUP BY service, text
ORDER BY service, est DESC, n DESC, text
LIMIT 5 BY service
UNION ALL
SELECT 'detail' AS what, toString(ServiceName) AS service, toString(SpanName) AS text,
       multiIf(SpanAttributes['http.route'] != '', SpanAttributes['http.route'],
               SpanAttributes['url.path'] != '', SpanAttributes['url.path'],
               splitByChar('?', SpanAttributes['http.target'])[1]) AS route,
       multiIf(SpanAttributes['peer.service'] != '', SpanAttributes['peer.service'],
               SpanAttributes['server.address'] != '', SpanAttributes['server.address'],
               SpanAttributes['net.peer.name']) AS peer,
       count() AS n, sum(toFloat64(${weight})) AS est
FROM ${traces}
PREWHERE ${window} AND ${is_error}
GROUP BY service, text, route, peer
ORDER BY service, est DESC, n DESC, text, route, peer
LIMIT 5 BY service
