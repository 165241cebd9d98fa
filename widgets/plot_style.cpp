#include "plot_style.h"

#include <qcustomplot.h>

namespace rudder::widgets {

void applyPlotStyle(QCustomPlot* plot)
{
    plot->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom | QCP::iSelectPlottables | QCP::iSelectLegend);
    plot->setAntialiasedElements(QCP::aeAll);
    plot->legend->setVisible(true);
    plot->legend->setBrush(QColor(255, 255, 255, 220));
}

} // namespace rudder::widgets
