package sqlcheck

import (
	"slices"
	"sort"
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/gatehouse/gatehouse/internal/analysis"
)

// stmtWalker collects what one statement touches.
type stmtWalker struct {
	st     *Statement
	u      *analysis.Unit
	tables []string
	locs   []int32 // where each table is named, to list them in text order
	ctes   map[string]bool
	funcs  []string
	noExec bool // the top-level query is only planned (EXPLAIN without ANALYZE)
}

func (w *stmtWalker) effects(es ...analysis.Effect) {
	for _, e := range es {
		w.u.Effects = w.u.Effects.With(e)
	}
}

func (w *stmtWalker) scope(s analysis.Scope) { w.u.Scopes = w.u.Scopes.With(s) }

func analyzeStmt(node *pg.Node, text string) *Statement {
	st := &Statement{Text: text}
	st.unit = analysis.Unit{Kind: analysis.KindSQL, Text: text}
	w := &stmtWalker{st: st, u: &st.unit, ctes: map[string]bool{}}
	w.classify(node)
	w.walk(node.ProtoReflect(), true)
	// Protobuf reflection visits fields in no fixed order; list the
	// tables in the order the text names them.
	order := make([]int, len(w.tables))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return loc(w.locs, order[a]) < loc(w.locs, order[b]) })
	sorted := make([]string, len(order))
	for i, j := range order {
		sorted[i] = w.tables[j]
	}
	w.tables = sorted
	for _, t := range w.tables {
		if !w.ctes[t] && !slices.Contains(st.Tables, t) {
			st.Tables = append(st.Tables, t)
		}
	}
	st.Funcs = w.funcs
	u := &st.unit
	u.Program = st.Type
	u.Statement = st.Type
	u.Subcommand = string(st.Class)
	u.Tables = st.Tables
	u.Where = st.Where
	u.Functions = st.Funcs
	if u.Effects == 0 {
		u.Effects = analysis.Effects(analysis.Read)
	}
	return st
}

func (w *stmtWalker) set(typ string, c Class) {
	w.st.Type, w.st.Class = typ, c
	switch c {
	case ClassRead, ClassTransaction:
		w.effects(analysis.Read)
	case ClassWrite, ClassDDL:
		w.effects(analysis.RemoteMutation)
	case ClassDestructiveDDL:
		w.effects(analysis.RemoteMutation, analysis.Destructive)
		w.u.AddFinding(analysis.FindingIrreversible, "drops or rewrites objects and their data")
	case ClassPrivilege:
		w.effects(analysis.Privilege)
	case ClassAdmin:
		w.effects(analysis.RemoteMutation, analysis.Privilege)
	case ClassFile:
		w.effects(analysis.Privilege)
	case ClassOpaque:
		w.effects(analysis.Opaque)
	case ClassUnknown:
		w.effects(analysis.Unknown)
	}
}

// classify sets the statement's type and class from its top-level node.
func (w *stmtWalker) classify(node *pg.Node) {
	switch n := node.Node.(type) {
	case *pg.Node_SelectStmt:
		w.set("select", ClassRead)
		if n.SelectStmt.IntoClause != nil {
			w.set("select_into", ClassDDL)
		}
		if len(n.SelectStmt.LockingClause) > 0 {
			w.u.AddFinding(analysis.FindingLock, "SELECT ... FOR UPDATE/SHARE locks the rows it reads")
			if n.SelectStmt.WhereClause == nil || tautology(n.SelectStmt.WhereClause) {
				w.scope(analysis.Bulk)
			}
		}
	case *pg.Node_InsertStmt:
		w.set("insert", ClassWrite)
		w.catalogWrite(n.InsertStmt.Relation)
		if sel := n.InsertStmt.SelectStmt.GetSelectStmt(); sel != nil && len(sel.ValuesLists) == 0 {
			w.scope(analysis.Bulk)
			w.u.AddFinding(analysis.FindingNoWhere, "INSERT ... SELECT copies every row the query returns")
		}
		if oc := n.InsertStmt.OnConflictClause; oc != nil && oc.Action == pg.OnConflictAction_ONCONFLICT_UPDATE {
			w.u.AddFinding(analysis.FindingIrreversible, "INSERT ... ON CONFLICT DO UPDATE overwrites existing rows")
		}
	case *pg.Node_UpdateStmt:
		w.set("update", ClassWrite)
		w.catalogWrite(n.UpdateStmt.Relation)
		w.u.AddFinding(analysis.FindingIrreversible, "UPDATE overwrites the old values")
		w.where("UPDATE", n.UpdateStmt.WhereClause, targetOf(n.UpdateStmt.Relation), true)
	case *pg.Node_DeleteStmt:
		w.set("delete", ClassWrite)
		w.catalogWrite(n.DeleteStmt.Relation)
		w.effects(analysis.Destructive)
		w.u.AddFinding(analysis.FindingIrreversible, "deleted rows cannot be recovered")
		w.where("DELETE", n.DeleteStmt.WhereClause, targetOf(n.DeleteStmt.Relation), true)
	case *pg.Node_MergeStmt:
		w.set("merge", ClassWrite)
		w.merge(n.MergeStmt, true)
	case *pg.Node_TruncateStmt:
		w.set("truncate", ClassDestructiveDDL)
		w.scope(analysis.Bulk)
		if n.TruncateStmt.Behavior == pg.DropBehavior_DROP_CASCADE {
			w.u.AddFinding(analysis.FindingIrreversible, "CASCADE also empties every table that references these")
		}
	case *pg.Node_DropStmt:
		w.set("drop", ClassDestructiveDDL)
		switch n.DropStmt.RemoveType {
		case pg.ObjectType_OBJECT_TABLE, pg.ObjectType_OBJECT_SCHEMA, pg.ObjectType_OBJECT_DATABASE,
			pg.ObjectType_OBJECT_MATVIEW, pg.ObjectType_OBJECT_FOREIGN_TABLE:
			w.scope(analysis.Bulk)
		case pg.ObjectType_OBJECT_FUNCTION, pg.ObjectType_OBJECT_PROCEDURE, pg.ObjectType_OBJECT_TRIGGER,
			pg.ObjectType_OBJECT_POLICY, pg.ObjectType_OBJECT_RULE, pg.ObjectType_OBJECT_EVENT_TRIGGER:
			w.effects(analysis.Privilege)
		}
		if n.DropStmt.Behavior == pg.DropBehavior_DROP_CASCADE {
			w.scope(analysis.Bulk)
			w.u.AddFinding(analysis.FindingIrreversible, "CASCADE also drops every dependent object")
		}
		for _, o := range n.DropStmt.Objects {
			if name := qualifiedName(o); name != "" && (n.DropStmt.RemoveType == pg.ObjectType_OBJECT_TABLE ||
				n.DropStmt.RemoveType == pg.ObjectType_OBJECT_VIEW || n.DropStmt.RemoveType == pg.ObjectType_OBJECT_MATVIEW) {
				w.tables = append(w.tables, name)
				w.locs = append(w.locs, 0)
			}
		}
	case *pg.Node_DropdbStmt:
		w.set("drop_database", ClassDestructiveDDL)
		w.scope(analysis.Bulk)
	case *pg.Node_DropRoleStmt:
		w.set("drop_role", ClassPrivilege)
		w.effects(analysis.Destructive)
	case *pg.Node_DropOwnedStmt:
		w.set("drop_owned", ClassDestructiveDDL)
		w.effects(analysis.Privilege)
		w.scope(analysis.Bulk)
	case *pg.Node_DropTableSpaceStmt:
		w.set("drop_tablespace", ClassDestructiveDDL)
		w.effects(analysis.Privilege)
	case *pg.Node_DropSubscriptionStmt:
		w.set("drop_subscription", ClassAdmin)
	case *pg.Node_DropUserMappingStmt:
		w.set("drop_user_mapping", ClassPrivilege)
	case *pg.Node_AlterTableStmt:
		w.alterTable(n.AlterTableStmt)
	case *pg.Node_GrantStmt:
		typ := "grant"
		if !n.GrantStmt.IsGrant {
			typ = "revoke"
		}
		w.set(typ, ClassPrivilege)
		for _, g := range n.GrantStmt.Grantees {
			if rs := g.GetRoleSpec(); rs != nil && rs.Roletype == pg.RoleSpecType_ROLESPEC_PUBLIC && n.GrantStmt.IsGrant {
				w.scope(analysis.Bulk)
				w.u.AddFinding(analysis.FindingRoleChange, "grants to PUBLIC: every role gets it")
			}
		}
	case *pg.Node_GrantRoleStmt:
		typ := "grant_role"
		if !n.GrantRoleStmt.IsGrant {
			typ = "revoke_role"
		}
		w.set(typ, ClassPrivilege)
		w.u.AddFinding(analysis.FindingRoleChange, "changes role membership")
	case *pg.Node_CreateRoleStmt:
		w.set("create_role", ClassPrivilege)
		w.roleOptions(n.CreateRoleStmt.Options)
	case *pg.Node_AlterRoleStmt:
		w.set("alter_role", ClassPrivilege)
		w.u.AddFinding(analysis.FindingRoleChange, "changes a role's attributes")
		w.roleOptions(n.AlterRoleStmt.Options)
	case *pg.Node_AlterRoleSetStmt:
		w.set("alter_role_set", ClassPrivilege)
	case *pg.Node_AlterDefaultPrivilegesStmt:
		w.set("alter_default_privileges", ClassPrivilege)
	case *pg.Node_AlterOwnerStmt:
		w.set("alter_owner", ClassPrivilege)
	case *pg.Node_ReassignOwnedStmt:
		w.set("reassign_owned", ClassPrivilege)
		w.scope(analysis.Bulk)
	case *pg.Node_CreatePolicyStmt:
		w.set("create_policy", ClassPrivilege)
	case *pg.Node_AlterPolicyStmt:
		w.set("alter_policy", ClassPrivilege)
	case *pg.Node_SecLabelStmt:
		w.set("security_label", ClassPrivilege)
	case *pg.Node_CopyStmt:
		w.copy(n.CopyStmt)
	case *pg.Node_VariableSetStmt:
		w.variableSet(n.VariableSetStmt)
	case *pg.Node_VariableShowStmt:
		w.set("show", ClassRead)
	case *pg.Node_TransactionStmt:
		w.set("transaction", ClassTransaction)
		for _, o := range n.TransactionStmt.Options {
			if de := o.GetDefElem(); de != nil && de.Defname == "transaction_read_only" && falsy(constText(de.Arg)) {
				// BEGIN READ WRITE overrides default_transaction_read_only.
				w.set("transaction", ClassPrivilege)
				w.u.AddFinding(analysis.FindingRoleChange, "starts a read-write transaction, overriding read-only mode")
			}
		}
	case *pg.Node_ExplainStmt:
		w.explain(n.ExplainStmt)
	case *pg.Node_DoStmt:
		w.set("do", ClassOpaque)
		w.u.AddFinding(analysis.FindingDynamicCode, "DO runs an anonymous code block the analysis cannot see into")
	case *pg.Node_CreateFunctionStmt:
		typ := "create_function"
		if n.CreateFunctionStmt.IsProcedure {
			typ = "create_procedure"
		}
		w.set(typ, ClassOpaque)
		w.u.AddFinding(analysis.FindingDynamicCode, "defines a function whose body runs later with unknown effects")
		w.functionOptions(n.CreateFunctionStmt.Options)
	case *pg.Node_AlterFunctionStmt:
		w.set("alter_function", ClassDDL)
		w.functionOptions(n.AlterFunctionStmt.Actions)
	case *pg.Node_CallStmt:
		w.set("call", ClassOpaque)
		w.u.AddFinding(analysis.FindingDynamicCode, "CALL runs a procedure whose effects are not known")
	case *pg.Node_CreateTrigStmt:
		w.set("create_trigger", ClassOpaque)
		w.u.AddFinding(analysis.FindingDynamicCode, "a trigger runs a function on every matching change")
	case *pg.Node_CreateEventTrigStmt:
		w.set("create_event_trigger", ClassOpaque)
		w.effects(analysis.Privilege)
		w.u.AddFinding(analysis.FindingDynamicCode, "an event trigger runs a function on DDL")
	case *pg.Node_RuleStmt:
		w.set("create_rule", ClassOpaque)
		w.effects(analysis.Privilege)
		w.u.AddFinding(analysis.FindingDynamicCode, "a rule rewrites future queries on the table")
	case *pg.Node_ExecuteStmt:
		w.set("execute", ClassOpaque)
		w.u.AddFinding(analysis.FindingDynamicCode, "EXECUTE runs a prepared statement not shown here")
	case *pg.Node_PrepareStmt:
		if q := n.PrepareStmt.Query; q != nil {
			w.classify(q)
		}
		w.st.Type = "prepare_" + w.st.Type
	case *pg.Node_DeclareCursorStmt:
		if q := n.DeclareCursorStmt.Query; q != nil {
			w.classify(q)
		}
	case *pg.Node_DiscardStmt:
		w.set("discard", ClassRead)
		if n.DiscardStmt.Target == pg.DiscardMode_DISCARD_ALL {
			w.set("discard", ClassPrivilege)
			w.u.AddFinding(analysis.FindingRoleChange, "DISCARD ALL resets the session's role and settings, which can undo a restriction")
		}
	case *pg.Node_FetchStmt, *pg.Node_ClosePortalStmt, *pg.Node_DeallocateStmt,
		*pg.Node_ConstraintsSetStmt, *pg.Node_ListenStmt, *pg.Node_UnlistenStmt:
		w.set(stmtName(node), ClassRead)
	case *pg.Node_NotifyStmt:
		w.set("notify", ClassWrite)
	case *pg.Node_AlterSystemStmt:
		w.set("alter_system", ClassAdmin)
		w.u.AddFinding(analysis.FindingSystemConfig, "ALTER SYSTEM rewrites the server's configuration")
	case *pg.Node_LoadStmt:
		w.set("load", ClassFile)
		w.effects(analysis.RemoteCode)
		w.u.AddFinding(analysis.FindingServerFile, "LOAD loads a shared library into the server")
	case *pg.Node_VacuumStmt:
		typ := "vacuum"
		if !n.VacuumStmt.IsVacuumcmd {
			typ = "analyze"
		}
		w.set(typ, ClassAdmin)
		for _, o := range n.VacuumStmt.Options {
			if de := o.GetDefElem(); de != nil && de.Defname == "full" {
				w.u.AddFinding(analysis.FindingLock, "VACUUM FULL takes an exclusive lock and rewrites the table")
			}
		}
	case *pg.Node_ClusterStmt:
		w.set("cluster", ClassAdmin)
		w.u.AddFinding(analysis.FindingLock, "CLUSTER takes an exclusive lock and rewrites the table")
	case *pg.Node_ReindexStmt:
		w.set("reindex", ClassAdmin)
		w.u.AddFinding(analysis.FindingLock, "REINDEX locks the table while it rebuilds")
	case *pg.Node_LockStmt:
		w.set("lock", ClassAdmin)
		w.u.AddFinding(analysis.FindingLock, "LOCK TABLE blocks other sessions")
	case *pg.Node_CheckPointStmt, *pg.Node_AlterDatabaseStmt, *pg.Node_AlterDatabaseSetStmt,
		*pg.Node_AlterDatabaseRefreshCollStmt, *pg.Node_AlterTableSpaceOptionsStmt, *pg.Node_AlterTableMoveAllStmt,
		*pg.Node_CreateTableSpaceStmt:
		w.set(stmtName(node), ClassAdmin)
	case *pg.Node_CreateExtensionStmt, *pg.Node_AlterExtensionStmt, *pg.Node_AlterExtensionContentsStmt,
		*pg.Node_CreatePlangStmt, *pg.Node_CreateCastStmt, *pg.Node_CreateTransformStmt, *pg.Node_CreateAmStmt:
		w.set(stmtName(node), ClassPrivilege)
		w.effects(analysis.RemoteCode)
	case *pg.Node_CreateFdwStmt, *pg.Node_AlterFdwStmt, *pg.Node_CreateForeignServerStmt, *pg.Node_AlterForeignServerStmt,
		*pg.Node_CreateUserMappingStmt, *pg.Node_AlterUserMappingStmt, *pg.Node_ImportForeignSchemaStmt,
		*pg.Node_CreateForeignTableStmt:
		w.set(stmtName(node), ClassPrivilege)
		w.effects(analysis.Network)
	case *pg.Node_CreatePublicationStmt, *pg.Node_AlterPublicationStmt, *pg.Node_CreateSubscriptionStmt,
		*pg.Node_AlterSubscriptionStmt:
		w.set(stmtName(node), ClassAdmin)
		w.effects(analysis.Network, analysis.Exfiltration)
	case *pg.Node_CreateStmt, *pg.Node_IndexStmt, *pg.Node_ViewStmt, *pg.Node_CreateSeqStmt, *pg.Node_AlterSeqStmt,
		*pg.Node_CreateSchemaStmt, *pg.Node_CreateDomainStmt, *pg.Node_AlterDomainStmt, *pg.Node_CompositeTypeStmt,
		*pg.Node_CreateEnumStmt, *pg.Node_AlterEnumStmt, *pg.Node_CreateRangeStmt, *pg.Node_DefineStmt,
		*pg.Node_CommentStmt, *pg.Node_RenameStmt, *pg.Node_AlterObjectSchemaStmt, *pg.Node_AlterObjectDependsStmt,
		*pg.Node_CreateStatsStmt, *pg.Node_AlterStatsStmt, *pg.Node_AlterCollationStmt, *pg.Node_AlterOperatorStmt,
		*pg.Node_AlterTypeStmt, *pg.Node_CreateOpClassStmt, *pg.Node_CreateOpFamilyStmt, *pg.Node_AlterOpFamilyStmt,
		*pg.Node_CreateConversionStmt, *pg.Node_AlterTsdictionaryStmt, *pg.Node_AlterTsconfigurationStmt,
		*pg.Node_ReplicaIdentityStmt, *pg.Node_CreatedbStmt, *pg.Node_CreateTableAsStmt, *pg.Node_RefreshMatViewStmt:
		w.set(stmtName(node), ClassDDL)
		if rn := node.GetRenameStmt(); rn != nil && rn.Relation != nil {
			w.u.AddFinding(analysis.FindingIrreversible, "renaming breaks every query that uses the old name")
		}
	default:
		w.set(stmtName(node), ClassUnknown)
		w.u.AddFinding(analysis.FindingUnknownSub, "statement type "+stmtName(node)+" is not classified")
	}
}

// stmtName turns the node's message name into a statement type:
// CreateTableSpaceStmt → create_table_space.
func stmtName(node *pg.Node) string {
	m := node.ProtoReflect()
	od := m.WhichOneof(m.Descriptor().Oneofs().ByName("node"))
	if od == nil {
		return "unknown"
	}
	name := string(od.Message().Name())
	name = strings.TrimSuffix(name, "Stmt")
	var sb strings.Builder
	for i, r := range name {
		if r >= 'A' && r <= 'Z' {
			if i > 0 {
				sb.WriteByte('_')
			}
			r += 'a' - 'A'
		}
		sb.WriteRune(r)
	}
	return sb.String()
}

func (w *stmtWalker) where(verb string, where *pg.Node, t *target, top bool) {
	state := "present"
	switch {
	case where == nil:
		state = "missing"
		w.u.AddFinding(analysis.FindingNoWhere, verb+" without WHERE affects every row")
	case tautology(where):
		state = "always-true"
		w.u.AddFinding(analysis.FindingTautology, verb+" with a WHERE that is always true affects every row")
	case !filtersTarget(where, t):
		state = "always-true"
		w.u.AddFinding(analysis.FindingTautology, verb+" with a WHERE that does not tell the rows of "+t.name+" apart affects every row")
	}
	if state != "present" {
		w.scope(analysis.Bulk)
		w.effects(analysis.Destructive)
	}
	if top || w.st.Where == "" || state != "present" {
		w.st.Where = state
	}
}

func (w *stmtWalker) merge(m *pg.MergeStmt, top bool) {
	if m.JoinCondition == nil || tautology(m.JoinCondition) {
		w.scope(analysis.Bulk)
		w.u.AddFinding(analysis.FindingTautology, "MERGE ON a condition that is always true matches every row")
		if top {
			w.st.Where = "always-true"
		}
	} else if top {
		w.st.Where = "present"
	}
	for _, c := range m.MergeWhenClauses {
		if mc := c.GetMergeWhenClause(); mc != nil {
			switch mc.CommandType {
			case pg.CmdType_CMD_DELETE:
				w.effects(analysis.Destructive)
				w.u.AddFinding(analysis.FindingIrreversible, "MERGE ... THEN DELETE deletes matching rows")
			case pg.CmdType_CMD_UPDATE:
				w.u.AddFinding(analysis.FindingIrreversible, "MERGE ... THEN UPDATE overwrites matching rows")
			}
		}
	}
}

func (w *stmtWalker) alterTable(a *pg.AlterTableStmt) {
	w.set("alter_table", ClassDDL)
	for _, c := range a.Cmds {
		cmd := c.GetAlterTableCmd()
		if cmd == nil {
			continue
		}
		switch cmd.Subtype {
		case pg.AlterTableType_AT_DropColumn, pg.AlterTableType_AT_DropConstraint, pg.AlterTableType_AT_DropExpression,
			pg.AlterTableType_AT_DetachPartition, pg.AlterTableType_AT_DropInherit:
			w.st.Class = ClassDestructiveDDL
			w.effects(analysis.Destructive)
			w.u.AddFinding(analysis.FindingIrreversible, "drops part of the table's definition or data")
		case pg.AlterTableType_AT_AlterColumnType:
			w.effects(analysis.Destructive)
			w.u.AddFinding(analysis.FindingIrreversible, "changing a column's type rewrites its data")
			w.u.AddFinding(analysis.FindingLock, "the table is locked while it is rewritten")
		case pg.AlterTableType_AT_DisableRowSecurity, pg.AlterTableType_AT_NoForceRowSecurity,
			pg.AlterTableType_AT_DisableTrig, pg.AlterTableType_AT_DisableTrigAll, pg.AlterTableType_AT_DisableTrigUser,
			pg.AlterTableType_AT_ChangeOwner, pg.AlterTableType_AT_DisableRule:
			w.st.Class = ClassPrivilege
			w.effects(analysis.Privilege)
			w.u.AddFinding(analysis.FindingRoleChange, "weakens a protection on the table (row security, triggers, rules or owner)")
		}
	}
}

func (w *stmtWalker) roleOptions(opts []*pg.Node) {
	for _, o := range opts {
		de := o.GetDefElem()
		if de == nil {
			continue
		}
		switch de.Defname {
		case "superuser", "createrole", "bypassrls", "replication", "createdb":
			if b := de.Arg.GetBoolean(); b == nil || b.Boolval {
				w.u.AddFinding(analysis.FindingRoleChange, "grants the "+strings.ToUpper(de.Defname)+" attribute")
				w.scope(analysis.Bulk)
			}
		case "password":
			w.u.AddFinding(analysis.FindingRoleChange, "sets a role's password")
		}
	}
}

func (w *stmtWalker) functionOptions(opts []*pg.Node) {
	for _, o := range opts {
		de := o.GetDefElem()
		if de == nil {
			continue
		}
		switch de.Defname {
		case "security":
			if b := de.Arg.GetBoolean(); b != nil && b.Boolval {
				w.effects(analysis.Privilege)
				w.u.AddFinding(analysis.FindingRoleChange, "SECURITY DEFINER runs with the owner's privileges")
			}
		case "language":
			lang := ""
			if s := de.Arg.GetString_(); s != nil {
				lang = strings.ToLower(s.Sval)
			}
			if lang == "c" || lang == "internal" || strings.HasSuffix(lang, "u") && lang != "plpgsql" && lang != "sql" {
				w.effects(analysis.Privilege, analysis.RemoteCode)
				w.u.AddFinding(analysis.FindingServerProgram, "language "+lang+" runs native or untrusted code in the server")
			}
		}
	}
}

func (w *stmtWalker) copy(c *pg.CopyStmt) {
	switch {
	case c.IsProgram:
		w.set("copy", ClassFile)
		w.effects(analysis.RemoteCode)
		w.u.AddFinding(analysis.FindingServerProgram, "COPY ... PROGRAM runs a shell command on the database server: "+c.Filename)
	case c.Filename != "":
		w.set("copy", ClassFile)
		if c.IsFrom {
			w.effects(analysis.SecretRead, analysis.RemoteMutation)
			w.u.AddFinding(analysis.FindingServerFile, "reads the server file "+c.Filename)
		} else {
			w.effects(analysis.RemoteMutation, analysis.Exfiltration)
			w.u.AddFinding(analysis.FindingServerFile, "writes the server file "+c.Filename)
		}
	case c.IsFrom:
		w.set("copy", ClassWrite)
	default:
		w.set("copy", ClassRead)
	}
}

// falsy lists PostgreSQL's spellings of false for boolean settings.
func falsy(s string) bool {
	switch strings.ToLower(s) {
	case "off", "false", "f", "no", "n", "0", "of", "fa", "fal", "fals":
		return true
	}
	return false
}

func (w *stmtWalker) variableSet(v *pg.VariableSetStmt) {
	w.set("set", ClassRead)
	name := strings.ToLower(v.Name)
	val := ""
	if len(v.Args) > 0 {
		val = strings.ToLower(constText(v.Args[0]))
	}
	switch v.Kind {
	case pg.VariableSetKind_VAR_SET_VALUE, pg.VariableSetKind_VAR_SET_CURRENT:
	case pg.VariableSetKind_VAR_SET_MULTI:
		// SET [SESSION CHARACTERISTICS AS] TRANSACTION READ WRITE
		for _, a := range v.Args {
			if de := a.GetDefElem(); de != nil && de.Defname == "transaction_read_only" {
				if falsy(constText(de.Arg)) {
					w.set("set", ClassPrivilege)
					w.u.AddFinding(analysis.FindingRoleChange, "turns read-only mode off")
				}
			}
		}
		return
	case pg.VariableSetKind_VAR_RESET, pg.VariableSetKind_VAR_SET_DEFAULT, pg.VariableSetKind_VAR_RESET_ALL:
		switch name {
		case "role", "session_authorization", "default_transaction_read_only", "transaction_read_only", "row_security",
			"session_replication_role", "":
			w.set("reset", ClassPrivilege)
			w.u.AddFinding(analysis.FindingRoleChange, "resets "+cmpOr(name, "every setting")+", which can undo a restriction")
		}
		return
	default:
		return
	}
	switch name {
	case "role", "session_authorization":
		w.set("set_role", ClassPrivilege)
		if name == "session_authorization" {
			w.st.Type = "set_session_authorization"
		}
		w.u.AddFinding(analysis.FindingRoleChange, "SET "+strings.ToUpper(name)+" switches to the privileges of "+val)
	case "default_transaction_read_only", "transaction_read_only":
		if falsy(val) {
			w.set("set", ClassPrivilege)
			w.u.AddFinding(analysis.FindingRoleChange, "turns read-only mode off")
		}
	case "session_replication_role":
		w.set("set", ClassPrivilege)
		w.u.AddFinding(analysis.FindingRoleChange, "session_replication_role disables triggers and foreign-key checks")
	case "row_security":
		if falsy(val) {
			w.set("set", ClassPrivilege)
			w.u.AddFinding(analysis.FindingRoleChange, "turns row-level security off")
		}
	default:
		if !harmlessSetting(name) {
			// search_path can put someone else's functions first, log_*
			// can hide what runs, and extensions add settings of their own.
			w.set("set", ClassPrivilege)
			w.u.AddFinding(analysis.FindingSystemConfig, "SET "+name+" is not a setting known to be harmless")
		}
	}
}

// harmlessSetting reports session settings that change formatting,
// resource limits or plans, not what runs or who runs it.
func harmlessSetting(name string) bool {
	switch name {
	case "statement_timeout", "lock_timeout", "idle_in_transaction_session_timeout", "idle_session_timeout",
		"transaction_timeout", "work_mem", "maintenance_work_mem", "temp_buffers", "timezone", "time zone", "datestyle",
		"intervalstyle", "client_encoding", "names", "application_name", "extra_float_digits", "client_min_messages",
		"bytea_output", "random_page_cost", "seq_page_cost", "effective_cache_size", "jit",
		"max_parallel_workers_per_gather", "default_statistics_target", "lc_messages", "lc_monetary", "lc_numeric",
		"lc_time", "standard_conforming_strings", "transaction_isolation", "default_transaction_isolation",
		"xmloption", "xmlbinary", "geqo", "from_collapse_limit", "join_collapse_limit", "cursor_tuple_fraction",
		"plan_cache_mode", "default_text_search_config", "vacuum_cost_delay", "vacuum_cost_limit",
		"parallel_setup_cost", "parallel_tuple_cost", "cpu_tuple_cost", "cpu_operator_cost", "cpu_index_tuple_cost",
		"constraint_exclusion", "deadlock_timeout", "synchronous_commit", "commit_delay", "gin_fuzzy_search_limit",
		"hash_mem_multiplier", "default_toast_compression", "row_security_active", "enable_seqscan_cost":
		return true
	}
	return strings.HasPrefix(name, "enable_") || strings.HasPrefix(name, "pg_trgm.") || strings.HasPrefix(name, "hnsw.") ||
		strings.HasPrefix(name, "ivfflat.")
}

func (w *stmtWalker) explain(e *pg.ExplainStmt) {
	analyze := false
	for _, o := range e.Options {
		if de := o.GetDefElem(); de != nil && de.Defname == "analyze" {
			switch {
			case de.Arg == nil:
				analyze = true
			case de.Arg.GetBoolean() != nil:
				analyze = de.Arg.GetBoolean().Boolval
			default:
				analyze = !falsy(constText(de.Arg))
			}
		}
	}
	if analyze && e.Query != nil {
		w.classify(e.Query)
		w.st.Type = "explain_analyze_" + w.st.Type
		return
	}
	w.set("explain", ClassRead)
	w.noExec = true
}

// walk visits every node below the statement.
func (w *stmtWalker) walk(m protoreflect.Message, top bool) {
	switch x := m.Interface().(type) {
	case *pg.RangeVar:
		if name := rangeVarName(x); name != "" {
			w.tables = append(w.tables, name)
			w.locs = append(w.locs, x.Location)
		}
		switch strings.ToLower(x.Relname) {
		case "pg_authid", "pg_shadow", "pg_user_mapping", "pg_user_mappings", "pg_largeobject", "pg_statistic",
			"pg_subscription", "pg_stat_activity", "pg_file_settings", "pg_hba_file_rules", "pg_ident_file_mappings",
			"pg_stat_statements", "pg_foreign_server", "pg_db_role_setting":
			w.effects(analysis.SecretRead)
			w.u.AddFinding(analysis.FindingServerFile, x.Relname+" holds password hashes or private data")
		}
	case *pg.CommonTableExpr:
		w.ctes[x.Ctename] = true
	case *pg.FuncCall:
		w.funcCall(x)
	case *pg.DeleteStmt:
		if !top {
			w.nestedDML("DELETE")
			w.effects(analysis.Destructive, analysis.RemoteMutation)
			w.where("DELETE", x.WhereClause, targetOf(x.Relation), false)
		}
	case *pg.UpdateStmt:
		if !top {
			w.nestedDML("UPDATE")
			w.effects(analysis.RemoteMutation)
			w.where("UPDATE", x.WhereClause, targetOf(x.Relation), false)
		}
	case *pg.InsertStmt:
		if !top {
			w.nestedDML("INSERT")
			w.effects(analysis.RemoteMutation)
		}
	case *pg.MergeStmt:
		if !top {
			w.nestedDML("MERGE")
			w.effects(analysis.RemoteMutation)
			w.merge(x, false)
		}
	case *pg.SelectStmt:
		if !top && x.IntoClause != nil {
			w.effects(analysis.RemoteMutation)
		}
	}
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if fd.Message() == nil || fd.IsMap() {
			return true
		}
		if fd.IsList() {
			l := v.List()
			for i := range l.Len() {
				w.walk(l.Get(i).Message(), false)
			}
			return true
		}
		// A Node is a wrapper around one statement or expression; what it
		// wraps is at the same level. So is the query of a PREPARE, a
		// DECLARE CURSOR or an EXPLAIN.
		childTop := false
		switch m.Interface().(type) {
		case *pg.Node:
			childTop = top
		case *pg.PrepareStmt, *pg.DeclareCursorStmt, *pg.ExplainStmt:
			childTop = top && fd.Name() == "query"
		}
		if childTop && w.noExec {
			if _, ok := m.Interface().(*pg.ExplainStmt); ok {
				// EXPLAIN without ANALYZE plans the query but never runs it:
				// collect what it names, not what it would do.
				inner := &stmtWalker{st: &Statement{}, u: &analysis.Unit{}, ctes: w.ctes}
				inner.walk(v.Message(), true)
				w.tables = append(w.tables, inner.tables...)
				return true
			}
		}
		w.walk(v.Message(), childTop)
		return true
	})
}

// catalogWrite flags DML on the system catalogs: UPDATE pg_authid can
// make a role superuser.
func (w *stmtWalker) catalogWrite(r *pg.RangeVar) {
	if r == nil {
		return
	}
	if strings.HasPrefix(strings.ToLower(r.Relname), "pg_") || strings.EqualFold(r.Schemaname, "pg_catalog") ||
		strings.EqualFold(r.Schemaname, "information_schema") {
		w.effects(analysis.Privilege)
		w.u.AddFinding(analysis.FindingRoleChange, "writes the system catalog "+rangeVarName(r))
	}
}

func (w *stmtWalker) nestedDML(verb string) {
	if w.st.Class == ClassRead {
		w.st.Class = ClassWrite
	}
	w.u.AddFinding(analysis.FindingCTEWrite, verb+" inside a subquery or WITH clause")
}

func rangeVarName(r *pg.RangeVar) string {
	if r.Relname == "" {
		return ""
	}
	if r.Schemaname != "" {
		return r.Schemaname + "." + r.Relname
	}
	return r.Relname
}

func qualifiedName(n *pg.Node) string {
	l := n.GetList()
	if l == nil {
		return constText(n)
	}
	parts := make([]string, 0, len(l.Items))
	for _, it := range l.Items {
		if s := it.GetString_(); s != nil {
			parts = append(parts, s.Sval)
		}
	}
	return strings.Join(parts, ".")
}

// constText returns the text of a constant or a name node.
func constText(n *pg.Node) string {
	if n == nil {
		return ""
	}
	if s := n.GetString_(); s != nil {
		return s.Sval
	}
	if c := n.GetAConst(); c != nil {
		switch v := c.Val.(type) {
		case *pg.A_Const_Sval:
			return v.Sval.Sval
		case *pg.A_Const_Ival:
			return itoa(int64(v.Ival.Ival))
		case *pg.A_Const_Fval:
			return v.Fval.Fval
		case *pg.A_Const_Boolval:
			if v.Boolval.Boolval {
				return "true"
			}
			return "false"
		}
	}
	if tc := n.GetTypeCast(); tc != nil {
		return constText(tc.Arg)
	}
	return ""
}

func loc(locs []int32, i int) int32 {
	if i < len(locs) {
		return locs[i]
	}
	return 1 << 30 // named by DROP, without a location
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func itoa(n int64) string {
	neg := n < 0
	if neg {
		n = -n
	}
	var b [24]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			break
		}
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}
