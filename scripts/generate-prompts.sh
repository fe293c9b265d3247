#!/usr/bin/env bash
# Regenerates the caller prompts in audio/ from the texts below, reproducibly:
# the same espeak-ng and lame versions give byte-identical MP3s, so a diff in
# audio/ always means a text or voice change.
#
# Needs the Debian packages espeak-ng and lame:
#   apt-get install -y espeak-ng lame
#
# Usage: scripts/generate-prompts.sh [output-dir]   (default: audio/ of the repo)
set -euo pipefail

missing=()
command -v espeak-ng >/dev/null 2>&1 || missing+=(espeak-ng)
command -v lame >/dev/null 2>&1 || missing+=(lame)
if ((${#missing[@]})); then
  echo "generate-prompts: missing ${missing[*]}; install with: apt-get install -y ${missing[*]}" >&2
  exit 1
fi

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${1:-$root/audio}"
mkdir -p "$out"

# A friendly female US voice, a little slower than espeak's default so it survives a phone line.
voice="en-us+f3"
speed=150
pitch=55

declare -A prompts=(
  [greeting]="Thanks for calling. Please hold while we connect you to an agent."
  [try-again]="All our agents are still busy. Please keep holding."
  [voicemail]="Sorry, nobody can take your call right now. Please leave a message after the tone, and press the pound key when you are done."
  [thanks]="Thank you. We will call you back soon. Goodbye."
  [no-agents]="Sorry, no agent is available right now. Please leave a message after the tone."
  # Opening hours and queues (docs/call-center-file.md); the texts match DEFAULT_PROMPTS and
  # positionAnnouncement() in src/call-center/, which speak them with <Say> when an MP3 is missing.
  [closed]="Thanks for calling. We are closed right now. Please leave a message after the tone, and we will call you back."
  [holiday]="Thanks for calling. We are closed today for a holiday. Please leave a message after the tone, and we will call you back."
  [closed-now]="Thanks for calling. We cannot take calls at the moment. Please leave a message after the tone, and we will call you back."
  [closure]="Thanks for calling. We are closed at the moment. Please leave a message after the tone, and we will call you back."
  [queue-welcome]="All our agents are busy. Please stay on the line: you will be connected to the next free agent."
  [callback-offer]="To be called back instead of waiting, press 1. You will keep your place in line."
  [menu-invalid]="Sorry, that is not one of the choices."
  [queue-position-1]="You are next in line."
  [queue-position-many]="There are many callers ahead of you."
  [queue-wait-0]="Your wait is less than a minute."
  [queue-wait-1]="Your wait is about 1 minute."
  [queue-wait-long]="Your wait is more than 15 minutes."
)
for n in 2 3 4 5 6 7 8 9 10; do prompts[queue-position-$n]="You are number $n in line."; done
for m in 2 3 4 5 6 7 8 9 10 11 12 13 14 15; do prompts[queue-wait-$m]="Your wait is about $m minutes."; done

names=(greeting try-again voicemail thanks no-agents closed holiday closed-now closure queue-welcome
  callback-offer menu-invalid queue-position-many queue-wait-0 queue-wait-long)
for n in 1 2 3 4 5 6 7 8 9 10; do names+=("queue-position-$n"); done
for m in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15; do names+=("queue-wait-$m"); done

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

lead_in_ms=400

for name in "${names[@]}"; do
  wav="$tmp/$name.wav"
  espeak-ng -v "$voice" -s "$speed" -p "$pitch" -w "$wav" "${prompts[$name]}"
  # espeak-ng writes a canonical 44-byte WAV header (16-bit mono PCM); anything else means a
  # different espeak-ng build that this script has not been checked with.
  channels="$(od -An -tu2 -j22 -N2 "$wav" | tr -d ' ')"
  bits="$(od -An -tu2 -j34 -N2 "$wav" | tr -d ' ')"
  if [[ "$(head -c 4 "$wav")" != RIFF || "$(tail -c +37 "$wav" | head -c 4)" != data ||
    "$channels" != 1 || "$bits" != 16 ]]; then
    echo "generate-prompts: unexpected WAV layout from espeak-ng in $wav" >&2
    exit 1
  fi
  rate="$(od -An -tu4 -j24 -N4 "$wav" | tr -d ' ')"
  # A lead-in of silence keeps the first word from being clipped while the call's media path
  # opens (espeak-ng ignores a leading SSML <break>, so the silence is prepended as raw PCM).
  silence_bytes=$((rate * 2 * lead_in_ms / 1000))
  # Mono, 16 kHz, 32 kbps CBR: plenty for an 8 kHz phone codec, 4 KB per second. No ID3 tag and
  # no Xing/LAME info frame: the bytes depend only on the audio and the lame version.
  # (Debian's lame reads raw input through libsndfile and warns that it might seek: it reads a
  # regular file here, and the warning is filtered out.)
  { head -c "$silence_bytes" /dev/zero; tail -c +45 "$wav"; } >"$tmp/$name.pcm"
  lame --quiet --nohist -r -s "$(awk "BEGIN { print $rate / 1000 }")" --bitwidth 16 --signed --little-endian \
    -m m --resample 16 -b 32 --cbr -t "$tmp/$name.pcm" "$out/$name.mp3" \
    2> >(grep -v -e 'libsndfile may ignore -r' -e 'Compile without libsndfile' >&2)
  printf '%-20s %6d bytes\n' "$name" "$(stat -c %s "$out/$name.mp3")"
done

# Hold music for callers waiting in a queue (docs/interface.md §7): 10 s of soft synthesized
# chords (C – Am – F – G, two and a half seconds each, sine tones with slow fades), so the
# `waitUrl` document that plays it is re-requested every ~10 s and a waiting caller is moved to a
# free agent within that time even without the call-update API. Royalty-free: made here, from
# nothing but sine waves. Needs sox (`apt-get install sox`); skipped without it.
if command -v sox >/dev/null; then
  chord() { # $1 = name, then the three frequencies in Hz
    sox -n -r 16000 -c 1 -b 16 "$tmp/$1.wav" synth 2.5 sine "$2" sine "$3" sine "$4" \
      remix - gain -n -14 fade q 0.4 2.5 0.6
  }
  chord c 261.63 329.63 392.00
  chord am 220.00 261.63 329.63
  chord f 174.61 220.00 261.63
  chord g 196.00 246.94 293.66
  sox "$tmp/c.wav" "$tmp/am.wav" "$tmp/f.wav" "$tmp/g.wav" "$tmp/hold.wav" reverb 30 gain -n -12
  sox "$tmp/hold.wav" -t raw -r 16000 -b 16 -e signed -c 1 "$tmp/hold.pcm"
  lame --quiet --nohist -r -s 16 --bitwidth 16 --signed --little-endian \
    -m m -b 32 --cbr -t "$tmp/hold.pcm" "$out/hold-music.mp3" \
    2> >(grep -v -e 'libsndfile may ignore -r' -e 'Compile without libsndfile' >&2)
  printf '%-10s %6d bytes\n' hold-music "$(stat -c %s "$out/hold-music.mp3")"
else
  echo "generate-prompts: sox not installed; audio/hold-music.mp3 left as it is" >&2
fi
