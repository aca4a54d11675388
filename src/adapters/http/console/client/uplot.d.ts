/* The console's page loads uPlot (the pinned npm package's IIFE build) as the global `uPlot`. */
import type uPlotType from 'uplot';

declare global {
  const uPlot: typeof uPlotType;
}
