// Log files of the nodes: a table of files (one node's, or every node's) and
// a viewer of one file's tail. Used by the node page, the cluster-wide Logs
// page and the actor page.
import { api } from "../api";
import { formatBytes, formatTime } from "../format";
import { usePoll } from "../poll";
import type { LogFile } from "../types";
import { Card, IdLink, PollView } from "./common";
import { DataTable, type Column } from "./DataTable";
import { LogViewer } from "./LogViewer";

/** How much of a log file the viewer loads. */
export const LOG_LINES = 1000;

interface NodeFile extends LogFile {
  node_id: string;
}

/**
 * The log files of `nodeId` (every node's when it is undefined); `href`
 * gives each file's link, `onSelect` handles a click on it in place.
 */
export function LogFileTable({
  nodeId,
  selected,
  href,
  onSelect,
  filter = "",
  title = "Log files",
}: {
  nodeId?: string;
  selected?: { nodeId: string; filename: string };
  href: (nodeId: string, filename: string) => string;
  onSelect: (nodeId: string, filename: string) => void;
  filter?: string;
  title?: string;
}) {
  const logs = usePoll((s) => api.logs(nodeId, s), nodeId ?? "");
  const columns: Column<NodeFile>[] = [
    {
      key: "name",
      title: "File",
      render: (f) => (
        <a
          class={`mono ${selected?.nodeId === f.node_id && selected.filename === f.name ? "selected" : ""}`}
          href={href(f.node_id, f.name)}
          onClick={(e) => {
            e.preventDefault();
            onSelect(f.node_id, f.name);
          }}
        >
          {f.name}
        </a>
      ),
      sort: (f) => f.name,
    },
    ...(nodeId
      ? []
      : [{ key: "node", title: "Node", render: (f: NodeFile) => <IdLink id={f.node_id} href={`/nodes/${f.node_id}`} />, sort: (f: NodeFile) => f.node_id }]),
    { key: "size", title: "Size", render: (f) => formatBytes(f.size), sort: (f) => f.size },
    { key: "mtime", title: "Modified", render: (f) => formatTime(f.mtime_ms), sort: (f) => f.mtime_ms },
  ];
  return (
    <Card title={title}>
      <PollView polled={logs} what="log files">
        {(reply) => {
          const files = reply.nodes
            .filter((n) => !nodeId || n.node_id === nodeId)
            .flatMap((n) => n.files.map((f) => ({ ...f, node_id: n.node_id })))
            .filter((f) => !filter || f.name.includes(filter));
          return (
            <DataTable
              columns={columns}
              rows={files}
              rowKey={(f) => `${f.node_id}/${f.name}`}
              initialSort={{ key: nodeId ? "name" : "mtime", descending: !nodeId }}
              empty={filter ? "No log file matches the filter." : "No log files."}
              testId="log-files"
            />
          );
        }}
      </PollView>
    </Card>
  );
}

/** The last LOG_LINES lines of one file, refreshed while it is shown. */
export function LogFileView({
  nodeId,
  filename,
  onClose,
  missing,
}: {
  nodeId: string;
  filename: string;
  onClose?: () => void;
  /** Shown instead of an error when the file does not exist (yet). */
  missing?: string;
}) {
  const file = usePoll((s) => api.logFile(nodeId, filename, LOG_LINES, s), `${nodeId}/${filename}`);
  const absent = missing && file.error && /no log file/.test(file.error.message);
  return (
    <Card
      title={<>Log <span class="mono">{filename}</span></>}
      actions={onClose && <button class="button" onClick={onClose}>Close</button>}
    >
      {absent ? (
        <div class="muted">{missing}</div>
      ) : (
        <PollView polled={file} what={filename}>
          {(f) => (
            <>
              {f.truncated && <div class="muted">Showing the last {LOG_LINES} lines.</div>}
              <LogViewer text={f.content} testId="log-file-content" />
            </>
          )}
        </PollView>
      )}
    </Card>
  );
}
