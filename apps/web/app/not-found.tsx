import type { Metadata } from "next";
import Link from "next/link";

export const metadata: Metadata = { title: "Not found" };

export default function NotFound() {
  return (
    <p className="empty">
      Not found. <Link href="/">Back to the ranking</Link>
    </p>
  );
}
