import type { Metadata } from "next";
import Link from "next/link";
import "./globals.css";

// Each page names itself in the title (a tab or a screen reader's page list said the same thing for every page).
export const metadata: Metadata = {
  title: { default: "IonRank — screening ionic conductors", template: "%s — IonRank" },
  description: "Predicted ionic migration barriers, ranked",
};

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
