"""Every finding code: its severity and its messages (Bahasa Indonesia for staff, English for logs).

Codes are stable: the Airflow task, the CLI's --json output and docs/asset-checks.md refer to them.
A message names the file, says what is wrong and what to do next.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from humas.assets.model import ERROR, INFO, WARNING, Finding


class Text(NamedTuple):
    """A message parameter that reads differently in the two languages (numbers, kinds of file)."""

    id: str
    en: str


@dataclass(frozen=True)
class CodeSpec:
    severity: str
    scope: str  # asset | channel | item | caption: what one finding of this code is about
    message_id: str
    message_en: str
    fix: str  # what to do, in English, for docs/asset-checks.md


_SPECS: dict[str, tuple[str, str, str, str, str]] = {
    # --- what the file is -------------------------------------------------------------
    "ASSET_EMPTY": (
        ERROR, "asset",
        "Berkas {asset} kosong (0 byte). Simpan ulang desainnya lalu unggah lagi ke folder item.",
        "{asset} is empty (0 bytes); save the design again and re-upload it to the item folder.",
        "Re-export and upload the file again."),
    "ASSET_INPUT_TOO_LARGE": (
        ERROR, "asset",
        "Berkas {asset} berukuran {size}, melebihi batas unggah {limit}. Ekspor ulang sebagai JPEG "
        "(kualitas 85-90) atau PNG yang lebih kecil, lalu unggah lagi.",
        "{asset} is {size}, over the {limit} intake limit; it was not opened. Re-export it as a smaller "
        "JPEG (quality 85-90) or PNG.",
        "Re-export smaller; nothing is parsed above the intake limit."),
    "ASSET_FORMAT_MISMATCH": (
        ERROR, "asset",
        "Berkas {asset} bernama seperti gambar ({ext}) tetapi isinya {kind}, bukan gambar. Ekspor desainnya "
        "sebagai JPEG atau PNG lalu unggah lagi.",
        "{asset} is named like an image ({ext}) but its bytes are {kind}; export the design as JPEG or PNG "
        "and upload it again.",
        "Export the design itself as JPEG or PNG; never rename another file to .jpg/.png."),
    "ASSET_NOT_IMAGE": (
        ERROR, "asset",
        "Berkas {asset} adalah {kind}, bukan gambar. Unggah desain dalam format JPEG atau PNG.",
        "{asset} is {kind}, not an image; upload the design as JPEG or PNG.",
        "Upload the design as JPEG or PNG (a PDF/document is not published)."),
    "ASSET_UNSUPPORTED_FORMAT": (
        ERROR, "asset",
        "Berkas {asset} adalah {kind} yang tidak dapat diproses untuk media sosial. {advice}",
        "{asset} is {kind}, which the pipeline cannot process for social media. {advice}",
        "Export as JPEG (photos) or PNG (graphics); for iPhone HEIC use Settings > Camera > Formats > "
        "Most Compatible."),
    "ASSET_DECOMPRESSION_BOMB": (
        ERROR, "asset",
        "Berkas {asset} menyatakan ukuran {dims} ({megapixels} MP), melebihi batas aman {limit_mp} MP, "
        "sehingga ditolak tanpa dibuka. Ekspor ulang dengan ukuran wajar (misalnya lebar 2048-4096 piksel).",
        "{asset} declares {dims} ({megapixels} MP), over the {limit_mp} MP safety limit: refused from its "
        "header without decoding (possible decompression bomb). Re-export at a sensible size "
        "(e.g. 2048-4096 px wide).",
        "Re-export at a normal size; the header is refused before any pixel is decoded."),
    "ASSET_TRUNCATED": (
        ERROR, "asset",
        "Berkas {asset} terpotong (tidak lengkap), mungkin unggahan atau salinannya terputus. Unggah ulang "
        "berkas aslinya.",
        "{asset} is truncated (incomplete), probably an interrupted upload or copy; upload the original "
        "again. ({detail})",
        "Upload the complete file again."),
    "ASSET_CORRUPT": (
        ERROR, "asset",
        "Berkas {asset} rusak dan tidak dapat dibaca sebagai gambar {format}. Buka lalu simpan ulang dari "
        "aplikasi desain, kemudian unggah lagi.",
        "{asset} is corrupt and cannot be read as a {format} image ({detail}); open and save it again in "
        "the design tool, then upload it again.",
        "Re-save from the design tool and upload again."),
    "ASSET_EXTENSION_MISMATCH": (
        WARNING, "asset",
        "Berkas {asset} sebenarnya gambar {real_format}, bukan {ext}. Berkas tetap diproses; sebaiknya ganti "
        "ekstensinya menjadi {suggested}.",
        "{asset} is really a {real_format} image, not {ext}; it is processed anyway. Rename it to {suggested}.",
        "Rename the file to its real type (the check reads the bytes, not the name)."),
    "ASSET_DUPLICATE": (
        ERROR, "asset",
        "Berkas {asset} sama persis dengan {other}. Hapus salah satunya dari brief atau ganti dengan gambar "
        "yang dimaksud.",
        "{asset} is byte-for-byte the same as {other}; remove one from the brief or replace it with the "
        "intended image.",
        "Remove the duplicate or drop the intended image under that name."),
    "ASSET_NEAR_DUPLICATE": (
        WARNING, "asset",
        "Berkas {asset} tampak sama dengan {other} (mungkin ekspor ulang). Pastikan memang ingin menerbitkan "
        "keduanya.",
        "{asset} looks the same as {other} (probably a re-export); make sure both should be published.",
        "Check that both images are meant to be in the post."),
    # --- frames and colour ----------------------------------------------------------------
    "ASSET_ANIMATED": (
        WARNING, "asset",
        "Berkas {asset} adalah animasi ({frames} bingkai). Hanya bingkai pertama yang diterbitkan sebagai "
        "gambar diam. Untuk gerak, unggah sebagai video.",
        "{asset} is animated ({frames} frames); only the first frame is published, as a still image. "
        "Upload motion as a video.",
        "Check that the first frame works alone, or deliver the animation as video."),
    "ASSET_MULTI_FRAME": (
        WARNING, "asset",
        "Berkas {asset} berisi {frames} halaman/gambar; hanya yang pertama dipakai. Simpan tiap halaman "
        "sebagai berkas sendiri bila semuanya perlu diterbitkan.",
        "{asset} holds {frames} pages/images; only the first is used. Save each page as its own file if "
        "all of them should be published.",
        "Split multi-page files into one file per page."),
    "ASSET_CMYK_CONVERTED": (
        INFO, "asset",
        "Berkas {asset} memakai warna CMYK (untuk cetak); sudah diubah ke sRGB memakai profil warna "
        "bawaannya ({profile}) agar warnanya tidak bergeser. Lain kali ekspor dalam RGB/sRGB.",
        "{asset} is CMYK (print colours); converted to sRGB through its embedded profile ({profile}) so "
        "colours do not shift. Export RGB/sRGB next time.",
        "Nothing (converted); export sRGB for the web next time."),
    "ASSET_CMYK_NO_PROFILE": (
        WARNING, "asset",
        "Berkas {asset} memakai warna CMYK tanpa profil warna; diubah ke RGB dengan rumus umum sehingga "
        "warnanya bisa bergeser. Periksa pratinjau, atau ekspor ulang dalam sRGB.",
        "{asset} is CMYK without a colour profile; converted to RGB with the generic formula, so colours "
        "may shift. Check the preview or re-export as sRGB.",
        "Check the colours on the preview; re-export as sRGB if they are off."),
    "ASSET_PROFILE_CONVERTED": (
        INFO, "asset",
        "Profil warna {profile} pada {asset} sudah diubah ke sRGB agar warnanya tampil sama di media sosial.",
        "{asset}: colour profile {profile} converted to sRGB so colours look the same on social media.",
        "Nothing (converted)."),
    "ASSET_PROFILE_INVALID": (
        WARNING, "asset",
        "Profil warna di {asset} rusak atau tidak cocok dengan gambarnya, jadi diabaikan. Periksa warnanya di "
        "pratinjau; bila salah, ekspor ulang dengan profil sRGB.",
        "{asset}: the embedded colour profile is unreadable or does not fit the image ({detail}); it was "
        "ignored. Check the colours on the preview; re-export with an sRGB profile if they are off.",
        "Check the colours; re-export with an sRGB profile."),
    "ASSET_PALETTE_CONVERTED": (
        INFO, "asset",
        "Berkas {asset} memakai palet warna terbatas (indexed); sudah diubah ke RGB penuh.",
        "{asset} is a palette (indexed-colour) image; converted to full RGB.",
        "Nothing (converted)."),
    "ASSET_16BIT_REDUCED": (
        INFO, "asset",
        "Berkas {asset} memakai {bits} bit per kanal; sudah diubah ke 8 bit per kanal seperti yang diterima "
        "media sosial.",
        "{asset} has {bits} bits per channel; reduced to 8 bits per channel as social media expect.",
        "Nothing (converted)."),
    "ASSET_TRANSPARENCY_FLATTENED": (
        WARNING, "asset",
        "Berkas {asset} punya area transparan; pada berkas terbit area itu menjadi putih. Periksa pratinjau; "
        "bila perlu beri latar belakang sendiri pada desain.",
        "{asset} has transparent areas; they become white in the published files. Check the preview and "
        "give the design its own background if needed.",
        "Give the design an opaque background if white does not suit it."),
    "ASSET_ORIENTATION_APPLIED": (
        INFO, "asset",
        "Foto {asset} diputar sesuai data orientasi kamera (EXIF) agar tampil tegak.",
        "{asset}: the camera's EXIF orientation ({orientation}) was applied so the photo stands upright.",
        "Nothing (applied)."),
    "ASSET_GPS_REMOVED": (
        INFO, "asset",
        "Foto {asset} menyimpan lokasi GPS tempat foto diambil; lokasi itu sudah dihapus dari berkas yang "
        "diterbitkan. Sebaiknya matikan penyimpanan lokasi di kamera/HP untuk foto dinas.",
        "{asset} carries the GPS location where it was taken; it was removed from every published file. "
        "Turn off location tagging on the camera/phone for work photos.",
        "Nothing for this post (stripped); turn off location tagging on the device."),
    # --- against one channel ------------------------------------------------------------------
    "ASSET_FORMAT_CONVERTED": (
        INFO, "channel",
        "{channel_name} tidak menerima {format}; berkas {asset} untuk {channel_name} dibuat dalam "
        "{target_format}.",
        "{channel_name} does not take {format}; the {channel_name} file of {asset} is made as {target_format}.",
        "Nothing (converted)."),
    "ASSET_FILE_TOO_LARGE": (
        WARNING, "channel",
        "Berkas {asset} ({size}) melebihi batas {channel_name} ({limit}); berkas untuk {channel_name} "
        "dikompresi ulang agar muat. Periksa ketajamannya di pratinjau.",
        "{asset} ({size}) is over the {channel_name} limit of {limit}; the {channel_name} file is "
        "re-compressed to fit. Check its sharpness on the preview.",
        "Check sharpness; export a lighter file if it suffers."),
    "ASSET_TOO_SMALL": (
        ERROR, "channel",
        "Gambar {asset} terlalu kecil untuk {channel_name}: lebarnya {width} piksel, minimal {min_width} "
        "piksel (disarankan {target_width}). Ekspor ulang dengan resolusi lebih besar.",
        "{asset} is too small for {channel_name}: {width} px wide, at least {min_width} px needed "
        "({target_width} recommended). Re-export at a higher resolution.",
        "Re-export at a higher resolution (never upscale a small file)."),
    "ASSET_LOW_RESOLUTION": (
        WARNING, "channel",
        "Gambar {asset} hanya selebar {width} piksel; di {channel_name} bisa tampak buram. Disarankan lebar "
        "minimal {recommended} piksel.",
        "{asset} is only {width} px wide and may look blurry on {channel_name}; {recommended} px or more "
        "is recommended.",
        "Re-export wider if the preview looks soft."),
    "ASSET_ASPECT_OUT_OF_RANGE": (
        ERROR, "channel",
        "Rasio gambar {asset} ({aspect}) terlalu jauh dari yang diterima {channel_name} ({range}): "
        "{detail}. Ubah desain ke rasio yang diterima, misalnya {suggest}, atau pecah menjadi beberapa slide.",
        "{asset}'s aspect ratio ({aspect}) is too far from what {channel_name} accepts ({range}): {detail}. "
        "Redesign at an accepted ratio, e.g. {suggest}, or split it into several slides.",
        "Redesign at an accepted ratio or split into slides (carousel)."),
    "ASSET_ASPECT_CROPPED": (
        WARNING, "channel",
        "Gambar {asset} ({aspect}) dipotong di tengah menjadi {target} untuk {channel_name}; {lost}% bagian "
        "tepinya terbuang. Periksa pratinjau agar teks dan logo tidak terpotong.",
        "{asset} ({aspect}) is centre-cropped to {target} for {channel_name}; {lost}% of its edges are cut "
        "off. Check the preview that no text or logo is lost.",
        "Check the preview; use fit: pad or redesign at the target ratio if something is cut."),
    "ASSET_ASPECT_PADDED": (
        INFO, "channel",
        "Gambar {asset} ({aspect}) diberi bingkai warna tepi menjadi {target} untuk {channel_name}; seluruh "
        "desain tetap terlihat.",
        "{asset} ({aspect}) is padded with its edge colour to {target} for {channel_name}; the whole design "
        "stays visible.",
        "Nothing (padded); design at the target ratio to avoid bars."),
    "ASSET_QUALITY_REDUCED": (
        INFO, "channel",
        "Kualitas JPEG {asset} untuk {channel_name} diturunkan ke {quality} agar di bawah {limit}.",
        "{asset}: JPEG quality for {channel_name} lowered to {quality} to stay under {limit}.",
        "Nothing; simplify very detailed designs if the preview shows artefacts."),
    "ASSET_RENDITION_TOO_LARGE": (
        ERROR, "channel",
        "Gambar {asset} tidak bisa dibuat di bawah {limit} untuk {channel_name} tanpa merusak kualitasnya. "
        "Sederhanakan desain (kurangi tekstur/noise) atau ekspor ulang lebih kecil.",
        "{asset} cannot be brought under {limit} for {channel_name} without ruining it; simplify the "
        "design (less texture/noise) or export it smaller.",
        "Simplify the design or export smaller."),
    "ASSET_RENDITION_INVALID": (
        ERROR, "channel",
        "Berkas hasil {asset} untuk {channel_name} tidak lolos pemeriksaan profil platform. Ini kesalahan "
        "sistem, bukan desain: laporkan ke admin pipeline.",
        "The {channel_name} rendition of {asset} fails the platform profile ({detail}); this is a pipeline "
        "bug, report it.",
        "Report to the pipeline maintainers (self-check of the renditions failed)."),
    "ASSET_CHECK_FAILED": (
        ERROR, "asset",
        "Pemeriksaan berkas {asset} gagal karena kesalahan sistem, bukan karena desainnya. Laporkan ke admin "
        "pipeline; sementara itu coba simpan ulang berkas sebagai JPEG atau PNG biasa dan unggah lagi.",
        "Checking {asset} failed with an internal error ({detail}); this is a pipeline bug, report it with the "
        "file. Re-saving it as a plain JPEG/PNG may work around it.",
        "Report to the pipeline maintainers with the file (the traceback is in the task log)."),
    "ASSET_TOO_MANY_ITEMS": (
        ERROR, "channel",
        "{channel_name} menerima paling banyak {max_items} gambar per unggahan, sedangkan item ini berisi "
        "{count}. Kurangi gambarnya atau bagi menjadi beberapa item.",
        "{channel_name} takes at most {max_items} images per post; this item has {count}. Remove images "
        "or split the item.",
        "Remove images or split the item into several posts."),
    "ITEM_NO_ASSETS": (
        ERROR, "item",
        "Item ini tidak berisi gambar. Unggah minimal satu desain ke folder item dan cantumkan di brief.",
        "The item has no images; upload at least one design and list it in the brief.",
        "Add at least one image."),
    "ASSET_VIDEO_ONLY_PLACEMENT": (
        ERROR, "channel",
        "{channel_name} hanya menerima video, sedangkan {asset} adalah gambar. Pilih penempatan lain untuk "
        "gambar di brief (misalnya {placements}) atau unggah video.",
        "{channel_name} takes only video and {asset} is an image; choose another placement for images in the "
        "brief (e.g. {placements}) or upload a video.",
        "Choose a placement that takes images, or deliver a video."),
    # --- video: what the file is (refused before FFmpeg decodes anything) -----------------------------
    "VIDEO_EMPTY": (
        ERROR, "asset",
        "Berkas video {asset} kosong (0 byte). Ekspor ulang videonya lalu unggah lagi ke folder item.",
        "The video {asset} is empty (0 bytes); export it again and re-upload it to the item folder.",
        "Export the video again and upload it."),
    "VIDEO_INPUT_TOO_LARGE": (
        ERROR, "asset",
        "Video {asset} berukuran {size}, melebihi batas unggah {limit}. Ekspor ulang dengan bit rate lebih "
        "rendah (misalnya H.264 8 Mbit/s) lalu unggah lagi.",
        "The video {asset} is {size}, over the {limit} intake limit; it was not opened. Export it again at a "
        "lower bit rate (e.g. H.264 at 8 Mbit/s).",
        "Export again at a lower bit rate."),
    "VIDEO_NOT_VIDEO": (
        ERROR, "asset",
        "Berkas {asset} berisi {kind}, bukan video MP4/MOV. Ekspor videonya sebagai MP4 (H.264 + AAC) dari "
        "aplikasi edit video lalu unggah lagi; jangan hanya mengganti nama berkas.",
        "{asset} holds {kind}, not an MP4/MOV video; export the video as MP4 (H.264 + AAC) from the editor "
        "and upload it again (renaming a file does not convert it).",
        "Export the video itself as MP4; never rename another file to .mp4."),
    "VIDEO_TRUNCATED": (
        ERROR, "asset",
        "Video {asset} tidak lengkap (terpotong), mungkin unggahan, salinan atau perekamannya terputus. "
        "Unggah ulang berkas aslinya atau ekspor ulang dari aplikasi edit.",
        "The video {asset} is incomplete ({detail}), probably an interrupted upload, copy or recording; upload "
        "the original again or export it again.",
        "Upload the complete file again."),
    "VIDEO_CORRUPT": (
        ERROR, "asset",
        "Video {asset} rusak dan tidak dapat dibaca. Ekspor ulang sebagai MP4 (H.264 + AAC) dari aplikasi "
        "edit video, lalu unggah lagi.",
        "The video {asset} is corrupt and cannot be read ({detail}); export it again as MP4 (H.264 + AAC).",
        "Export again from the video editor."),
    "VIDEO_HEADER_TOO_LARGE": (
        ERROR, "asset",
        "Indeks video {asset} (kotak moov) berukuran {size}, melebihi batas aman {limit}, sehingga ditolak "
        "tanpa dibuka. Ekspor ulang videonya sebagai MP4 biasa.",
        "The index (moov box) of {asset} is {size}, over the {limit} safety limit: refused without opening. "
        "Export the video again as a plain MP4.",
        "Export again; a normal index is well under the limit."),
    "VIDEO_DIMENSIONS_REFUSED": (
        ERROR, "asset",
        "Video {asset} menyatakan ukuran {width}×{height} piksel, melebihi batas aman {limit} piksel per sisi, "
        "sehingga ditolak tanpa dibuka. Ekspor ulang dengan resolusi wajar (misalnya 1080×1920).",
        "The video {asset} declares {width}x{height} pixels, over the {limit} px per side safety limit: refused "
        "without decoding. Export it again at a normal resolution (e.g. 1080x1920).",
        "Export at a normal resolution (at most 4K)."),
    "VIDEO_DURATION_REFUSED": (
        ERROR, "asset",
        "Video {asset} menyatakan durasi {duration}, lebih dari batas {limit} untuk semua platform, sehingga "
        "ditolak tanpa dibuka. Potong videonya atau ekspor ulang; bila durasinya keliru, berkasnya rusak.",
        "The video {asset} declares {duration}, longer than the {limit} any platform takes: refused without "
        "opening. Cut it, or export again if the duration is wrong (a damaged file).",
        "Cut the video, or export again if the declared duration is wrong."),
    "VIDEO_NO_VIDEO_STREAM": (
        ERROR, "asset",
        "Berkas {asset} tidak berisi gambar video (hanya {streams}). Ekspor ulang sebagai video MP4.",
        "{asset} holds no video picture (only {streams}); export it again as an MP4 video.",
        "Export a video, not an audio-only file."),
    "VIDEO_EXTENSION_MISMATCH": (
        WARNING, "asset",
        "Berkas {asset} sebenarnya {real}, bukan {ext}. Berkas tetap diproses; sebaiknya ganti ekstensinya "
        "menjadi {suggested}.",
        "{asset} is really {real}, not {ext}; it is processed anyway. Rename it to {suggested}.",
        "Rename the file to its real type (the check reads the bytes, not the name)."),
    # --- video: what every rendition fixes (once per video) ------------------------------------------
    "VIDEO_ROTATION_APPLIED": (
        INFO, "asset",
        "Video {asset} direkam dengan putaran {rotation}°; berkas terbit sudah diputar agar tampil tegak.",
        "The video {asset} is stored turned by {rotation} degrees; the published files are turned upright.",
        "Nothing (applied)."),
    "VIDEO_VFR_CONVERTED": (
        INFO, "asset",
        "Video {asset} memakai laju bingkai berubah-ubah (VFR, biasa dari HP); berkas terbit dibuat dengan laju "
        "tetap agar gambar dan suara tetap selaras.",
        "The video {asset} has a variable frame rate (usual for phones); the published files use a constant "
        "rate so picture and sound stay in sync.",
        "Nothing (converted)."),
    "VIDEO_FASTSTART_APPLIED": (
        INFO, "asset",
        "Indeks video {asset} ada di akhir berkas; pada berkas terbit indeks dipindah ke awal agar video bisa "
        "langsung diputar.",
        "The index (moov) of {asset} is at the end of the file; the published files carry it first so playback "
        "starts at once.",
        "Nothing (moved); export with 'optimize for web/fast start' to avoid it."),
    "VIDEO_NO_AUDIO": (
        INFO, "asset",
        "Video {asset} tidak bersuara. Pastikan memang tanpa suara; bila perlu musik atau narasi, tambahkan "
        "lalu ekspor ulang.",
        "The video {asset} has no sound; make sure that is intended.",
        "Add sound and export again if the video should have it."),
    # --- video against one placement ----------------------------------------------------------------
    "VIDEO_PLACEMENT_NO_VIDEO": (
        ERROR, "channel",
        "{channel_name} tidak menerima video {asset}. Di brief, pilih penempatan yang menerima video: "
        "{placements}.",
        "{channel_name} does not take the video {asset}; in the brief, choose a placement that takes video: "
        "{placements}.",
        "Choose a placement that takes video (see platforms.yaml)."),
    "VIDEO_TOO_SHORT": (
        ERROR, "channel",
        "Durasi {asset} {duration}; {channel_name} perlu minimal {limit}: perpanjang video.",
        "{asset} lasts {duration}; {channel_name} needs at least {limit}: make the video longer.",
        "Make the video longer."),
    "VIDEO_GIF_LOOPED": (
        INFO, "channel",
        "Animasi {asset} berdurasi {duration}; untuk {channel_name} (minimal {limit}) animasinya diputar ulang "
        "sampai cukup panjang.",
        "{asset} lasts {duration}; for {channel_name} (at least {limit}) the animation is played again until "
        "long enough.",
        "Nothing; make the animation longer if the repeat looks odd."),
    "VIDEO_TOO_LONG": (
        ERROR, "channel",
        "Durasi {asset} {duration}; {channel_name} menerima paling lama {limit}: potong video menjadi paling "
        "lama {limit}.",
        "{asset} lasts {duration}; {channel_name} takes at most {limit}: cut it to {limit} or less.",
        "Cut the video to the placement's maximum."),
    "VIDEO_TOO_SMALL": (
        ERROR, "channel",
        "Resolusi video {asset} {width}×{height} piksel, di bawah minimum {channel_name} {min_width}×{min_height} "
        "piksel. Ekspor ulang dengan resolusi lebih besar (disarankan {target}).",
        "The video {asset} is {width}x{height} px, below the {channel_name} minimum of {min_width}x{min_height} "
        "px; export it again at a higher resolution ({target} recommended).",
        "Export at a higher resolution (a video is never upscaled)."),
    "VIDEO_ASPECT_OUT_OF_RANGE": (
        ERROR, "channel",
        "Rasio video {asset} ({aspect}) terlalu jauh dari yang diterima {channel_name} ({range}); gambar hanya "
        "akan mengisi {percent}% bingkai. Ekspor ulang dengan rasio {suggest}.",
        "The aspect ratio of {asset} ({aspect}) is too far from what {channel_name} accepts ({range}); the "
        "picture would fill only {percent}% of the frame. Export it again at {suggest}.",
        "Export the video at an accepted ratio (e.g. 9:16 for Reels)."),
    "VIDEO_ASPECT_ADJUSTED": (
        WARNING, "channel",
        "Rasio video {asset} ({aspect}) diubah menjadi {target} untuk {channel_name} (diberi bingkai atau "
        "dipotong sesuai 'fit'). Periksa pratinjau agar teks dan wajah tidak terpotong.",
        "The video {asset} ({aspect}) is brought to {target} for {channel_name} (padded or cropped per 'fit'); "
        "check the preview that no text or face is cut.",
        "Check the preview; export at the target ratio to avoid bars or cuts."),
    "VIDEO_BITRATE_LOWERED": (
        WARNING, "channel",
        "Video {asset} ({duration}) dibuat untuk {channel_name} pada sekitar {bitrate} agar di bawah batas {limit}. "
        "Periksa ketajamannya di pratinjau; potong video bila gambarnya kurang tajam.",
        "{asset} ({duration}) is made for {channel_name} at about {bitrate} to stay under its {limit} limit; check "
        "its sharpness, cut the video if it looks soft.",
        "Nothing; cut the video if the lower bit rate shows."),
    "VIDEO_RENDITION_TOO_LARGE": (
        ERROR, "channel",
        "Video {asset} ({duration}) pada kualitas {bitrate} menjadi sekitar {size}, melebihi batas {channel_name} "
        "{limit}: potong video menjadi paling lama {max_duration}.",
        "{asset} ({duration}) at {bitrate} comes to about {size}, over the {channel_name} limit of {limit}: cut "
        "it to {max_duration} or less.",
        "Cut the video so the rendition fits the byte limit."),
    "VIDEO_GIF_TOO_LARGE": (
        ERROR, "channel",
        "Animasi GIF {asset} ({size}) melebihi batas GIF {channel_name} ({limit}). Perkecil atau perpendek "
        "animasinya, atau kirim sebagai video dengan penempatan {video_placement}.",
        "The animated GIF {asset} ({size}) is over the {channel_name} GIF limit of {limit}; make it smaller or "
        "shorter, or post it as a video with the {video_placement} placement.",
        "Shrink the GIF or choose the video placement."),
    "VIDEO_FILE_TOO_LARGE": (
        WARNING, "channel",
        "Video {asset} ({size}) melebihi batas {channel_name} ({limit}); berkas untuk {channel_name} dikompresi "
        "ulang. Periksa ketajamannya di pratinjau.",
        "The video {asset} ({size}) is over the {channel_name} limit of {limit}; its {channel_name} file is "
        "re-compressed. Check its sharpness on the preview.",
        "Check sharpness; export a lighter file if it suffers."),
    "VIDEO_CODEC_CONVERTED": (
        INFO, "channel",
        "{channel_name} tidak menerima {format} pada {asset}; berkas untuk {channel_name} dibuat sebagai "
        "H.264 High (MP4).",
        "{channel_name} does not take {format} ({asset}); its {channel_name} file is made as H.264 High (MP4).",
        "Nothing (converted)."),
    "VIDEO_AUDIO_CONVERTED": (
        INFO, "channel",
        "Suara {asset} ({audio}) tidak diterima {channel_name}; diubah ke AAC-LC {target}.",
        "The sound of {asset} ({audio}) is not accepted by {channel_name}; converted to AAC-LC {target}.",
        "Nothing (converted)."),
    "VIDEO_FPS_CONVERTED": (
        INFO, "channel",
        "Laju bingkai {asset} {fps} fps di luar {range} fps yang diterima {channel_name}; berkas untuk "
        "{channel_name} dibuat {target} fps.",
        "{asset} runs at {fps} fps, outside the {range} fps {channel_name} accepts; its {channel_name} file is "
        "made at {target} fps.",
        "Nothing (converted); record at 25 or 30 fps to avoid it."),
    "VIDEO_SCALED_DOWN": (
        INFO, "channel",
        "Video {asset} ({width}×{height} piksel) diperkecil menjadi paling besar {box} piksel untuk "
        "{channel_name}.",
        "The video {asset} ({width}x{height} px) is scaled down to fit {box} px for {channel_name}.",
        "Nothing (scaled)."),
    "VIDEO_BITRATE_REDUCED": (
        INFO, "channel",
        "Bit rate video {asset} ({bitrate}) diturunkan ke {target} untuk {channel_name}.",
        "The bit rate of {asset} ({bitrate}) is lowered to {target} for {channel_name}.",
        "Nothing (re-compressed)."),
    # --- caption -----------------------------------------------------------------------------------
    "CAPTION_EMPTY": (
        WARNING, "caption",
        "Keterangan (caption) kosong. Isi keterangan di brief sebelum diterbitkan.",
        "The caption is empty; fill it in the brief before publishing.",
        "Write the caption in the brief."),
    "CAPTION_TOO_LONG": (
        ERROR, "caption",
        "Keterangan terlalu panjang untuk {channel_name}: {length} karakter{counting}, batasnya {limit}. "
        "Pendekkan {over} karakter.",
        "The caption is too long for {channel_name}: {length} characters{counting}, the limit is {limit}. "
        "Cut {over} characters.",
        "Shorten the caption (X counts each link as 23 and emoji/CJK as 2)."),
    "CAPTION_TOO_MANY_HASHTAGS": (
        ERROR, "caption",
        "Keterangan memuat {count} tagar (#), batas {channel_name} {limit}. Hapus {over} tagar.",
        "The caption has {count} hashtags; {channel_name} allows {limit}. Remove {over}.",
        "Remove hashtags."),
    "CAPTION_TOO_MANY_MENTIONS": (
        ERROR, "caption",
        "Keterangan menyebut {count} akun (@), batas {channel_name} {limit}. Hapus {over} sebutan.",
        "The caption mentions {count} accounts; {channel_name} allows {limit}. Remove {over}.",
        "Remove mentions."),
}

CODES: dict[str, CodeSpec] = {code: CodeSpec(*spec) for code, spec in _SPECS.items()}


def _language(params: dict[str, object], lang: str) -> dict[str, object]:
    return {k: (getattr(v, lang) if isinstance(v, Text) else v) for k, v in params.items()}


def finding(code: str, *, asset: str | None = None, channel: str | None = None, **params: object) -> Finding:
    """Build the finding `code` for `asset` on `channel`, filling both messages from `params`."""
    spec = CODES[code]
    return Finding(
        code=code,
        severity=spec.severity,
        asset=asset,
        channel=channel,
        message_id=spec.message_id.format(asset=asset, **_language(params, "id")),
        message_en=spec.message_en.format(asset=asset, **_language(params, "en")),
    )


# --- how numbers read in the messages ---------------------------------------------------------------

def _decimal(value: float, digits: int) -> Text:
    """12345.6 -> '12.345,6' (Indonesian) / '12,345.6' (English)."""
    en = f"{value:,.{digits}f}"
    return Text(en.translate(str.maketrans(",.", ".,")), en)


def size_text(n_bytes: int) -> Text:
    """8388608 -> '8,0 MB' / '8.0 MB' (MiB, as the platforms count)."""
    if n_bytes < 1024 * 1024:
        value = _decimal(n_bytes / 1024, 0)
        return Text(value.id + " KB", value.en + " KB")
    value = _decimal(n_bytes / (1024 * 1024), 1)
    return Text(value.id + " MB", value.en + " MB")


def mp_text(pixels: int) -> Text:
    return _decimal(pixels / 1_000_000, 1)


_NAMED_RATIOS = ((1, 1), (4, 5), (5, 4), (3, 2), (2, 3), (4, 3), (3, 4), (16, 9), (9, 16), (2, 1), (1, 2),
                 (3, 1), (1, 3), (4, 1), (1, 4))


def aspect_text(aspect: float) -> Text:
    """1.25 -> '5:4'; 1.91 -> '1,91:1' / '1.91:1'."""
    for w, h in _NAMED_RATIOS:
        if abs(aspect / (w / h) - 1) < 0.01:
            return Text(f"{w}:{h}", f"{w}:{h}")
    if aspect >= 1:
        value = _decimal(aspect, 2)
        return Text(value.id + ":1", value.en + ":1")
    value = _decimal(1 / aspect, 2)
    return Text("1:" + value.id, "1:" + value.en)


def range_text(low: float | None, high: float | None) -> Text:
    if low is None and high is None:
        return Text("semua rasio", "any ratio")
    if low is not None and low == high:
        return aspect_text(low)
    if low is None:
        return Text(f"paling lebar {aspect_text(high).id}", f"at most {aspect_text(high).en}")
    if high is None:
        return Text(f"paling tinggi {aspect_text(low).id}", f"at least {aspect_text(low).en}")
    return Text(f"{aspect_text(low).id} sampai {aspect_text(high).id}", f"{aspect_text(low).en} to {aspect_text(high).en}")


def _seconds_part(seconds: float) -> Text:
    whole = abs(seconds - round(seconds)) < 0.05
    value = Text(str(round(seconds)), str(round(seconds))) if whole else _decimal(seconds, 1)
    return Text(value.id + " detik", value.en + (" second" if value.en == "1" else " seconds"))


def seconds_text(seconds: float) -> Text:
    """2.9 -> '2,9 detik' / '2.9 seconds'; 91 -> '1 menit 31 detik'; 36000 -> '10 jam'. Seconds are kept (a
    video limit is in seconds), tenths only below a minute."""
    if seconds < 60:
        return _seconds_part(seconds)
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    units = (("jam", "h", hours), ("menit", "min", minutes), ("detik", "s", secs))
    parts = [(f"{n} {id_unit}", f"{n} {en_unit}") for id_unit, en_unit, n in units if n]
    return Text(" ".join(p[0] for p in parts), " ".join(p[1] for p in parts))


def bitrate_text(bits_per_second: float) -> Text:
    """5000000 -> '5,0 Mbit/s' / '5.0 Mbit/s'; 128000 -> '128 kbit/s'."""
    if bits_per_second < 1_000_000:
        value = _decimal(bits_per_second / 1000, 0)
        return Text(value.id + " kbit/s", value.en + " kbit/s")
    value = _decimal(bits_per_second / 1_000_000, 1)
    return Text(value.id + " Mbit/s", value.en + " Mbit/s")


def number_text(value: float) -> Text:
    """29.97 -> '29,97'; 30.0 -> '30'."""
    if abs(value - round(value)) < 0.005:
        return Text(str(round(value)), str(round(value)))
    return _decimal(value, 2)
