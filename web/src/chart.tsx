import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

/** Calls offered per hour (bars) and the service level through the day (line), with uPlot. */
export function DayChart({ hourly, serviceLevel }: { hourly: number[]; serviceLevel: Array<number | null> }) {
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const hours = Array.from({ length: 24 }, (_, h) => h);
  const data: uPlot.AlignedData = [hours, hourly, serviceLevel.map((v) => (v === null ? null : v * 100))];

  useEffect(() => {
    const el = host.current as HTMLDivElement;
    const width = () => Math.max(280, el.clientWidth);
    const css = getComputedStyle(document.documentElement);
    const fg = css.getPropertyValue('--fg').trim() || '#eee';
    const accent = css.getPropertyValue('--accent').trim() || '#4ea1ff';
    const good = css.getPropertyValue('--good').trim() || '#3ecf8e';
    const opts: uPlot.Options = {
      width: width(),
      height: 220,
      legend: { show: true },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: false }, sl: { range: [0, 100] } },
      axes: [
        { stroke: fg, values: (_u, v) => v.map((h) => `${h}h`), grid: { show: false } },
        { stroke: fg, label: 'calls', grid: { stroke: 'rgba(128,128,128,0.2)' } },
        { stroke: fg, scale: 'sl', side: 1, label: 'service level %', grid: { show: false } },
      ],
      series: [
        { label: 'hour' },
        {
          label: 'calls',
          stroke: accent,
          fill: `${accent}55`,
          paths: uPlot.paths.bars?.({ size: [0.7, 40] }),
          points: { show: false },
        },
        { label: 'service level %', scale: 'sl', stroke: good, width: 2, spanGaps: false },
      ],
    };
    plot.current = new uPlot(opts, data, el);
    const onResize = () => plot.current?.setSize({ width: width(), height: 220 });
    window.addEventListener('resize', onResize);
    return () => {
      window.removeEventListener('resize', onResize);
      plot.current?.destroy();
    };
  }, []);

  useEffect(() => {
    plot.current?.setData(data);
  });

  return (
    <div ref={host} class="chart" role="img" aria-label="Calls per hour and service level through the day" />
  );
}
