import { CrystalError } from "../errors.js";
import { Pathway } from "../pathway.js";
import { readingProblem, type Structure } from "../structure.js";

/**
 * Why a structure just read is not a crystal (see readingProblem), or null. A migration pathway written in its
 * image form (the moving ion's images first, as the Em dataset and `ionrank pathway` write it, in any format)
 * may pass an image through a host atom (LiRuO2_1 does), so its images are not checked for coincidence.
 */
export function structureProblem(s: Structure): string | null {
  const problem = readingProblem(s);
  if (!problem) return null;
  const images = pathImages(s);
  return images > 0 ? readingProblem(s, (i) => i < images) : problem;
}

/** How many leading sites are the images of a migration pathway, or 0. */
function pathImages(s: Structure): number {
  try {
    return Pathway.fromImageStructure(s).images.length;
  } catch (e) {
    if (e instanceof CrystalError) return 0;
    throw e;
  }
}
