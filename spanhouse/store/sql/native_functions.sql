-- The named lambdas of the native INSERT (spanhouse.store.native_insert), for its WITH clause;
-- ClickHouse inlines them where called. They write attribute values exactly as
-- spanhouse.model.attributes does. ${marker} is the literal that makes the INSERT fail with
-- NativeIncompatible; $$ is a literal dollar sign (sqlfiles.render).
--
-- Doubles: ClickHouse's toString(Float64) prints the shortest round-trip digits, positional for
-- decimal exponents in [-6, 20] and d.ddde-X / d.ddde21 otherwise (ES6's rule), which is
-- spanhouse.model.attributes.format_double (Go's AsString) but for the '+' of positive
-- exponents; sh_json_double reshapes it into orjson's float (positional for exponents in
-- [-5, 15], '.0' on whole numbers, 'e+'/'e-' otherwise; NaN and +-Inf as null).
-- tests/store/test_native_insert.py checks both on 100k random doubles against the Python code.
    x -> multiIf(isNaN(x), 'NaN', isInfinite(x), if(x > 0, '+Inf', '-Inf'),
                 replaceRegexpOne(toString(x), 'e([0-9])', 'e+\\1')) AS sh_go_double,
    x -> multiIf(NOT isFinite(x), 'null',
                 position(toString(x), 'e') > 0, replaceRegexpOne(toString(x), 'e([0-9])', 'e+\\1'),
                 match(toString(x), '^-?0\\.00000'),
                     replaceOne(replaceRegexpOne(toString(x), '^(-?)0\\.00000([0-9])([0-9]*)$$', '\\1\\2.\\3e-6'), '.e', 'e'),
                 position(toString(x), '.') > 0, toString(x),
                 length(toString(abs(x))) >= 17,
                     replaceOne(concat(replaceRegexpOne(toString(x), '^(-?)([0-9])([0-9]*?)0*$$', '\\1\\2.\\3'),
                                       'e+', toString(length(toString(abs(x))) - 1)), '.e', 'e'),
                 concat(toString(x), '.0')) AS sh_json_double,
    c -> multiIf(c = '"', '\\"', c = '\\', '\\\\', c = char(10), '\\n', c = char(13), '\\r',
                 c = char(9), '\\t', c = char(8), '\\b', c = char(12), '\\f',
                 c < ' ', concat('\\u00', lower(hex(c))), c) AS sh_json_char,
    js -> concat('"', if(match(js, '[\\x00-\\x1f"\\\\]'),
                         arrayStringConcat(arrayMap(c -> sh_json_char(c), splitByRegexp('', js))), js),
                 '"') AS sh_json_string,
    jv -> arrayMap((t, s, i, b, d, y) -> multiIf(
              t = 'string', sh_json_string(s), t = 'int', toString(i),
              t = 'bool', if(b, 'true', 'false'), t = 'double', sh_json_double(d),
              t = 'bytes', concat('"', base64Encode(y), '"'),
              t IN ('array', 'kvlist'), toString(throwIf(t IN ('array', 'kvlist'), ${marker})),
              'null'),
          jv.value, jv.string_value, jv.int_value, jv.bool_value, jv.double_value, jv.bytes_value) AS sh_json_values,
    jm -> arraySort(p -> p.key, arrayFilter((p, n) -> NOT has(arraySlice(jm.key, n + 1), p.key),
                                            jm, arrayEnumerate(jm))) AS sh_json_members,
    ja -> concat('[', arrayStringConcat(sh_json_values(ja), ','), ']') AS sh_json_array,
    jo -> concat('{', arrayStringConcat(arrayMap((k, j) -> concat(sh_json_string(k), ':', j),
                                                 sh_json_members(jo).key, sh_json_values(sh_json_members(jo).value)),
                                        ','), '}') AS sh_json_object,
    kvs -> arrayMap((t, s, i, b, d, y, av, kl) -> multiIf(
               t = 'string', s, t = 'int', toString(i), t = 'bool', if(b, 'true', 'false'),
               t = 'double', sh_go_double(d), t = 'bytes', base64Encode(y),
               t = 'array', sh_json_array(av), t = 'kvlist', sh_json_object(kl), ''),
           kvs.value.value, kvs.value.string_value, kvs.value.int_value, kvs.value.bool_value,
           kvs.value.double_value, kvs.value.bytes_value, kvs.value.array_value.values,
           kvs.value.kvlist_value.values) AS sh_values,
    kvs -> mapFromArrays(kvs.key, sh_values(kvs)) AS sh_attributes,
    kvs -> mapFromArrays(arrayFilter((k, t) -> t != 'string', kvs.key, kvs.value.value),
                         arrayMap(t -> if(t = 'strindex', 'empty', toString(t)),
                                  arrayFilter(t -> t != 'string', kvs.value.value))) AS sh_attribute_types,
    h -> lower(hex(h)) AS sh_hex,
    t -> fromUnixTimestamp64Nano(toInt64(t)) AS sh_time
