// Only the ranking (and the model page) stream behind a loading state: a page that can answer 404, like a
// material's, must not send its status before it knows the answer.
export default function Loading() {
  return <p className="empty" role="status">Loading…</p>;
}
