// Shared look of every Rudder plot (fonts, colours, interactions), so exports match the screen.
#pragma once
class QCustomPlot;

namespace rudder::widgets {
void applyPlotStyle(QCustomPlot* plot);
}
