package sqlcheck

import (
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"

	"github.com/gatehouse/gatehouse/internal/analysis"
)

// dangerousFunc is a built-in function with effects beyond reading rows.
type dangerousFunc struct {
	effects analysis.EffectSet
	finding analysis.FindingKind
	what    string
}

var (
	fileRead    = analysis.Effects(analysis.SecretRead, analysis.Privilege)
	fileWrite   = analysis.Effects(analysis.RemoteMutation, analysis.Privilege, analysis.Destructive)
	backendKill = analysis.Effects(analysis.ProcessControl, analysis.Privilege)
	serverAdmin = analysis.Effects(analysis.RemoteMutation, analysis.Privilege)
	remoteSQL   = analysis.Effects(analysis.Network, analysis.RemoteMutation, analysis.Exfiltration, analysis.Opaque)
	dynamicSQL  = analysis.Effects(analysis.Opaque)
	seqWrite    = analysis.Effects(analysis.RemoteMutation)
)

var dangerousFuncs = map[string]dangerousFunc{
	"pg_read_file":                        {fileRead, analysis.FindingServerFile, "reads a file on the database server"},
	"pg_read_binary_file":                 {fileRead, analysis.FindingServerFile, "reads a file on the database server"},
	"pg_ls_dir":                           {fileRead, analysis.FindingServerFile, "lists a directory on the database server"},
	"pg_stat_file":                        {fileRead, analysis.FindingServerFile, "inspects a file on the database server"},
	"pg_ls_logdir":                        {fileRead, analysis.FindingServerFile, "lists the server's log directory"},
	"pg_ls_waldir":                        {fileRead, analysis.FindingServerFile, "lists the server's WAL directory"},
	"pg_ls_tmpdir":                        {fileRead, analysis.FindingServerFile, "lists the server's temp directory"},
	"pg_ls_archive_statusdir":             {fileRead, analysis.FindingServerFile, "lists the server's archive directory"},
	"lo_import":                           {fileRead, analysis.FindingServerFile, "imports a server file as a large object"},
	"lo_export":                           {fileWrite, analysis.FindingServerFile, "writes a large object to a server file"},
	"pg_file_write":                       {fileWrite, analysis.FindingServerFile, "writes a file on the database server"},
	"pg_file_rename":                      {fileWrite, analysis.FindingServerFile, "renames a file on the database server"},
	"pg_file_unlink":                      {fileWrite, analysis.FindingServerFile, "deletes a file on the database server"},
	"pg_file_sync":                        {fileWrite, analysis.FindingServerFile, "syncs a file on the database server"},
	"pg_terminate_backend":                {backendKill, analysis.FindingDangerousFunc, "kills another database session"},
	"pg_cancel_backend":                   {backendKill, analysis.FindingDangerousFunc, "cancels another session's query"},
	"pg_reload_conf":                      {serverAdmin, analysis.FindingSystemConfig, "reloads the server configuration"},
	"pg_rotate_logfile":                   {serverAdmin, analysis.FindingDangerousFunc, "rotates the server log"},
	"pg_promote":                          {serverAdmin, analysis.FindingDangerousFunc, "promotes a standby server"},
	"pg_switch_wal":                       {serverAdmin, analysis.FindingDangerousFunc, "forces a WAL switch"},
	"pg_create_restore_point":             {serverAdmin, analysis.FindingDangerousFunc, "creates a restore point"},
	"pg_wal_replay_pause":                 {serverAdmin, analysis.FindingDangerousFunc, "pauses WAL replay"},
	"pg_wal_replay_resume":                {serverAdmin, analysis.FindingDangerousFunc, "resumes WAL replay"},
	"pg_drop_replication_slot":            {serverAdmin, analysis.FindingDangerousFunc, "drops a replication slot"},
	"pg_stat_reset":                       {serverAdmin, analysis.FindingDangerousFunc, "resets statistics"},
	"pg_stat_reset_shared":                {serverAdmin, analysis.FindingDangerousFunc, "resets statistics"},
	"set_config":                          {serverAdmin, analysis.FindingSystemConfig, "changes a server setting (possibly the role)"},
	"dblink":                              {remoteSQL, analysis.FindingDangerousFunc, "runs SQL on another server"},
	"dblink_exec":                         {remoteSQL, analysis.FindingDangerousFunc, "runs SQL on another server"},
	"dblink_connect":                      {remoteSQL, analysis.FindingDangerousFunc, "connects to another server"},
	"dblink_connect_u":                    {remoteSQL, analysis.FindingDangerousFunc, "connects to another server without checks"},
	"dblink_send_query":                   {remoteSQL, analysis.FindingDangerousFunc, "runs SQL on another server"},
	"dblink_open":                         {remoteSQL, analysis.FindingDangerousFunc, "opens a cursor on another server"},
	"query_to_xml":                        {dynamicSQL, analysis.FindingDynamicCode, "runs a query given as text"},
	"query_to_xml_and_xmlschema":          {dynamicSQL, analysis.FindingDynamicCode, "runs a query given as text"},
	"query_to_xmlschema":                  {dynamicSQL, analysis.FindingDynamicCode, "runs a query given as text"},
	"cursor_to_xml":                       {dynamicSQL, analysis.FindingDynamicCode, "reads a cursor"},
	"setval":                              {seqWrite, analysis.FindingDangerousFunc, "resets a sequence"},
	"nextval":                             {seqWrite, "", ""},
	"lo_unlink":                           {analysis.Effects(analysis.Destructive, analysis.RemoteMutation), analysis.FindingDangerousFunc, "deletes a large object"},
	"lo_create":                           {seqWrite, "", ""},
	"lo_put":                              {seqWrite, "", ""},
	"lowrite":                             {seqWrite, "", ""},
	"pg_notify":                           {seqWrite, "", ""},
	"pg_sleep":                            {analysis.Effects(analysis.ProcessControl), analysis.FindingLock, "holds the session and its locks"},
	"pg_sleep_for":                        {analysis.Effects(analysis.ProcessControl), analysis.FindingLock, "holds the session and its locks"},
	"pg_sleep_until":                      {analysis.Effects(analysis.ProcessControl), analysis.FindingLock, "holds the session and its locks"},
	"pg_advisory_lock":                    {analysis.Effects(analysis.ProcessControl), analysis.FindingLock, "takes a session-level lock"},
	"pg_advisory_xact_lock":               {analysis.Effects(analysis.ProcessControl), analysis.FindingLock, "takes a lock"},
	"pg_logical_emit_message":             {seqWrite, analysis.FindingDangerousFunc, "writes to the WAL"},
	"pg_replication_origin_create":        {serverAdmin, analysis.FindingDangerousFunc, "changes replication"},
	"pg_create_physical_replication_slot": {serverAdmin, analysis.FindingDangerousFunc, "creates a replication slot"},
	"pg_create_logical_replication_slot":  {serverAdmin, analysis.FindingDangerousFunc, "creates a replication slot"},
	"pg_import_system_collations":         {serverAdmin, "", ""},
}

// safeFuncs are built-in functions that only compute values.
var safeFuncs = makeSet(`
count sum avg min max every bool_and bool_or bit_and bit_or string_agg array_agg json_agg jsonb_agg
json_object_agg jsonb_object_agg stddev stddev_pop stddev_samp variance var_pop var_samp corr covar_pop
covar_samp regr_slope mode percentile_cont percentile_disc xmlagg
row_number rank dense_rank percent_rank cume_dist ntile lag lead first_value last_value nth_value
abs ceil ceiling floor round trunc sign sqrt cbrt power pow exp ln log log10 mod div pi degrees radians random
setseed sin cos tan asin acos atan atan2 greatest least width_bucket gcd lcm factorial scale
length char_length character_length octet_length bit_length lower upper initcap trim btrim ltrim rtrim lpad
rpad substr substring left right replace translate reverse repeat split_part strpos position concat concat_ws
format quote_ident quote_literal quote_nullable md5 sha224 sha256 sha384 sha512 encode decode ascii chr
regexp_replace regexp_match regexp_matches regexp_split_to_array regexp_split_to_table regexp_count
regexp_instr regexp_like regexp_substr starts_with to_hex to_ascii overlay string_to_array string_to_table
array_to_string normalize unistr to_char to_number to_date to_timestamp
now current_date current_time current_timestamp localtime localtimestamp clock_timestamp statement_timestamp
transaction_timestamp timeofday date_part date_trunc date_bin extract age justify_days justify_hours
justify_interval make_date make_time make_timestamp make_timestamptz make_interval isfinite to_timestamp
coalesce nullif greatest least
json_build_object jsonb_build_object json_build_array jsonb_build_array to_json to_jsonb row_to_json
array_to_json json_array_length jsonb_array_length json_extract_path jsonb_extract_path json_extract_path_text
jsonb_extract_path_text json_object_keys jsonb_object_keys json_each jsonb_each json_each_text
jsonb_each_text json_array_elements jsonb_array_elements json_array_elements_text jsonb_array_elements_text
json_typeof jsonb_typeof jsonb_set jsonb_insert jsonb_pretty jsonb_strip_nulls json_strip_nulls
jsonb_path_query jsonb_path_exists jsonb_path_match jsonb_path_query_array jsonb_path_query_first
json_populate_record jsonb_populate_record json_to_record jsonb_to_record json_object jsonb_object
array_length array_lower array_upper array_dims array_ndims array_append array_prepend array_cat
array_remove array_replace array_position array_positions cardinality unnest generate_series
generate_subscripts array_fill trim_array
gen_random_uuid uuid_generate_v4 uuid_generate_v1
current_user session_user current_role user current_database current_schema current_schemas current_catalog
version pg_backend_pid inet_client_addr inet_client_port inet_server_addr inet_server_port
pg_postmaster_start_time pg_conf_load_time pg_is_in_recovery pg_current_wal_lsn txid_current
pg_current_xact_id pg_typeof pg_column_size pg_size_pretty pg_size_bytes pg_relation_size
pg_total_relation_size pg_table_size pg_indexes_size pg_database_size pg_tablespace_size
pg_relation_filenode pg_relation_filepath obj_description col_description shobj_description format_type
pg_get_viewdef pg_get_functiondef pg_get_function_arguments pg_get_function_result pg_get_indexdef
pg_get_constraintdef pg_get_triggerdef pg_get_expr pg_get_userbyid pg_get_serial_sequence pg_get_keywords
to_regclass to_regtype to_regproc to_regprocedure to_regrole to_regnamespace has_table_privilege
has_column_privilege has_schema_privilege has_database_privilege has_function_privilege
has_sequence_privilege pg_has_role row_security_active pg_table_is_visible pg_type_is_visible
pg_function_is_visible current_setting pg_blocking_pids pg_stat_get_activity pg_last_xact_replay_timestamp
pg_encoding_to_char pg_client_encoding pg_jit_available pg_listening_channels pg_my_temp_schema
currval lastval
host hostmask masklen netmask network broadcast inet_merge family abbrev set_masklen text
to_tsvector to_tsquery plainto_tsquery phraseto_tsquery websearch_to_tsquery ts_rank ts_rank_cd ts_headline
setweight strip numnode querytree
bool int int2 int4 int8 float4 float8 numeric varchar bpchar date timestamp timestamptz interval
st_asgeojson st_astext st_distance st_dwithin st_contains st_intersects st_makepoint st_setsrid
xmlelement xmlforest xmlconcat xmlparse xmlserialize xpath xpath_exists xmlexists
num_nonnulls num_nulls pg_input_is_valid
pg_current_wal_lsn pg_current_wal_insert_lsn pg_current_wal_flush_lsn pg_wal_lsn_diff pg_last_wal_replay_lsn
pg_last_wal_receive_lsn pg_is_wal_replay_paused pg_get_wal_replay_pause_state pg_is_in_recovery
pg_last_xact_replay_timestamp pg_get_partkeydef pg_get_statisticsobjdef pg_walfile_name
similarity word_similarity strict_word_similarity show_trgm show_limit levenshtein levenshtein_less_equal soundex
difference metaphone dmetaphone dmetaphone_alt daitch_mokotoff unaccent digest hmac gen_salt crypt gen_random_bytes
`)

func makeSet(s string) map[string]bool {
	out := map[string]bool{}
	for _, f := range strings.Fields(s) {
		out[f] = true
	}
	return out
}

func (w *stmtWalker) funcCall(f *pg.FuncCall) {
	parts := make([]string, 0, len(f.Funcname))
	for _, n := range f.Funcname {
		parts = append(parts, constText(n))
	}
	name := strings.ToLower(parts[len(parts)-1])
	schema := ""
	if len(parts) > 1 {
		schema = strings.ToLower(parts[len(parts)-2])
	}
	full := strings.ToLower(strings.Join(parts, "."))
	w.addFunc(full)
	builtin := schema == "" || schema == "pg_catalog"
	if d, ok := dangerousFuncs[name]; ok && (builtin || strings.HasPrefix(name, "dblink")) {
		w.u.Effects |= d.effects
		if d.finding != "" {
			w.u.AddFinding(d.finding, name+" "+d.what)
		}
		if name == "set_config" && len(f.Args) > 0 {
			switch strings.ToLower(constText(f.Args[0])) {
			case "role", "session_authorization":
				w.u.AddFinding(analysis.FindingRoleChange, "set_config switches the session's role")
			}
		}
		return
	}
	if strings.HasPrefix(name, "dblink") {
		w.u.Effects |= remoteSQL
		w.u.AddFinding(analysis.FindingDangerousFunc, name+" talks to another database server")
		return
	}
	if builtin && (safeFuncs[name] || strings.HasPrefix(name, "st_") && name != "st_asmvt") {
		return // st_*: PostGIS computes on geometries
	}
	w.u.Effects = w.u.Effects.With(analysis.Unknown)
	w.u.AddFinding(analysis.FindingUnknownFunc, full+" is not a known built-in; its side effects are unknown")
}

func (w *stmtWalker) addFunc(name string) {
	for _, f := range w.funcs {
		if f == name {
			return
		}
	}
	w.funcs = append(w.funcs, name)
}
