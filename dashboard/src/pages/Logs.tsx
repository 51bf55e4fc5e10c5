// Logs: every node's log files in one table (newest first), filterable by
// name, with a viewer of the chosen file.
import { PageHeader } from "../components/common";
import { FilterBox } from "../components/DataTable";
import { LogFileTable, LogFileView } from "../components/LogFiles";
import { replaceQuery, useLocation } from "../router";

export function logsHref(nodeId: string, filename: string): string {
  return `/logs?node=${encodeURIComponent(nodeId)}&file=${encodeURIComponent(filename)}`;
}

export function LogsPage() {
  const { query } = useLocation();
  const text = query.get("q") ?? "";
  const node = query.get("node") ?? "";
  const file = query.get("file") ?? "";
  return (
    <div data-page="logs">
      <PageHeader title="Logs">
        <FilterBox value={text} placeholder="Filter by file name…" onInput={(q) => replaceQuery({ q, node, file })} />
      </PageHeader>
      {node && file && <LogFileView nodeId={node} filename={file} onClose={() => replaceQuery({ q: text })} />}
      <LogFileTable
        title="Log files of every node"
        selected={{ nodeId: node, filename: file }}
        filter={text}
        href={logsHref}
        onSelect={(n, f) => replaceQuery({ q: text, node: n, file: f })}
      />
    </div>
  );
}
