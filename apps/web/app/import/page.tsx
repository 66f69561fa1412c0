import type { Metadata } from "next";
import { ImportForm } from "@/components/ImportForm";

export const metadata: Metadata = { title: "Import structures" };

export default function ImportPage() {
  return (
    <>
      <h1>Import structures</h1>
      <p>
        CIF, POSCAR/CONTCAR, extended XYZ or JSON (structures, or the Em dataset&apos;s pathways with their DFT barriers). With a mobile ion, its
        symmetry-distinct hops are enumerated and predicted by the active model.
      </p>
      <ImportForm />
    </>
  );
}
