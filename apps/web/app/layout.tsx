import type { Metadata } from "next";
import Link from "next/link";
import "./globals.css";

export const metadata: Metadata = { title: "IonRank — screening ionic conductors", description: "Predicted ionic migration barriers, ranked" };

export default function RootLayout({ children }: { children: React.ReactNode }) {
  return (
    <html lang="en">
      <body>
        <a className="skip" href="#main">Skip to content</a>
        <header className="top">
          <Link href="/" className="brand">IonRank</Link>
          <nav aria-label="Main">
            <Link href="/">Ranking</Link>
            <Link href="/import">Import</Link>
            <Link href="/model">Model</Link>
          </nav>
        </header>
        <main id="main">{children}</main>
        <footer className="foot">Energies in eV, lengths in Å. Predictions name the model that made them; DFT labels name their source.</footer>
      </body>
    </html>
  );
}
