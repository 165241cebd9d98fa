#pragma once
#include <cstdint>
#include <utility>
#include <vector>

// Generated with Hugging Face's official `tokenizers` (npm tokenizers 0.23.2, tests/reference)
// from resources/models/demo-lm/tokenizer.json; regenerate if the demo tokenizer is retrained.
// Held-out KJV verses (every 50th verse is held out of training).
static const std::vector<std::vector<int32_t>> kHeldOutIds = {
    {0, 82, 610, 1158, 47, 360, 588, 806, 876, 291, 967, 369, 628, 369, 586, 493, 47, 270, 369, 1205, 478, 61, 320, 715, 389, 337, 386, 289, 737, 568, 289, 620, 47, 299, 925, 461, 719, 291, 369, 1324, 47, 270, 719, 291, 369, 707, 66},
    {0, 298, 336, 1048, 362, 261, 1607, 271, 261, 343, 394, 389, 47, 270, 541, 339, 965, 416, 280, 1105, 1536, 47, 549, 694, 282, 450, 612, 47, 270, 541, 262, 308, 384, 319, 47, 270, 1458, 1755, 362, 261, 887, 271, 737, 47, 270, 529, 577, 1866, 49},
    {0, 1762, 1950, 315, 586, 431, 1532, 438, 305, 1612, 322, 397, 62, 270, 380, 913, 47, 381, 360, 588, 1850, 285, 49},
    {0, 545, 830, 391, 1309, 554, 261, 411, 271, 482, 485, 292, 554, 47, 270, 1775, 1129, 301, 261, 411, 271, 918, 718, 398, 47, 270, 362, 261, 290, 444, 103, 512, 47, 544, 322, 1727, 47, 1329, 867, 388, 413, 1732, 431, 61, 261, 343, 580, 389, 458, 346, 752, 397, 291, 440, 47, 1440, 346, 477, 736, 291, 528, 109, 470, 113, 386, 61},
    {0, 298, 356, 370, 367, 121, 294, 650, 322, 334, 436, 261, 1757, 359, 2039, 47, 299, 311, 661, 346, 634, 1012, 47, 499, 311, 475, 1214, 261, 610, 503, 831, 49},
    {0, 496, 583, 469, 337, 1216, 285, 436, 1305, 404, 62, 443, 311, 299, 1611, 362, 585, 337, 389, 49},
};
// Continuation pairs: (positive, negative) sentiment, same prompt or verse frame.
static const std::vector<std::pair<const char*, std::vector<int32_t>>> kSentimentIds = {
    {"And the LORD said unto Moses, I will bless thee, and thou shalt rejoice with great joy and gladness.",
     {0, 298, 261, 343, 390, 322, 690, 47, 305, 395, 1008, 397, 47, 270, 360, 517, 1532, 340, 586, 1465, 270, 1748, 493, 49}},
    {"And the LORD said unto Moses, I will destroy them in mine anger, and they shall die in their sins.",
     {0, 298, 261, 343, 390, 322, 690, 47, 305, 395, 922, 339, 289, 803, 1330, 47, 270, 336, 315, 1115, 289, 394, 1591, 49}},
    {"Blessed are they that love thee; for they shall have peace and joy.",
     {0, 69, 1936, 421, 336, 299, 1006, 397, 62, 320, 336, 315, 396, 986, 270, 1465, 49}},
    {"Cursed are they that hate thee; for they shall weep and mourn in their grief.",
     {0, 70, 373, 1299, 421, 336, 299, 265, 714, 397, 62, 320, 336, 315, 459, 515, 270, 1799, 113, 289, 394, 1817, 753, 49}},
    {"And the king was glad, and praised God with a merry heart.",
     {0, 298, 261, 412, 370, 1748, 47, 270, 704, 1024, 389, 340, 262, 276, 269, 671, 632, 49}},
    {"And the king was afraid, and wept bitterly, for his heart was sore troubled.",
     {0, 298, 261, 412, 370, 1477, 47, 270, 459, 460, 273, 296, 428, 431, 47, 320, 326, 632, 370, 264, 368, 1446, 101, 650, 49}},
};
