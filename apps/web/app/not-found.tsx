import Link from "next/link";

export default function NotFound() {
  return (
    <p className="empty">
      Not found. <Link href="/">Back to the ranking</Link>
    </p>
  );
}
