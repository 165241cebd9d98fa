#include "plot_style.h"

#include <qcustomplot.h>

namespace rudder::widgets {

void applyPlotStyle(QCustomPlot* plot)
{
    plot->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom | QCP::iSelectPlottables | QCP::iSelectLegend);
    plot->setAntialiasedElements(QCP::aeAll);
    plot->legend->setVisible(true);
    plot->legend->setBrush(QColor(255, 255, 255, 170));   // the data stays visible beneath
    plot->legend->setBorderPen(QPen(QColor(0, 0, 0, 90)));
    QFont f = plot->legend->font();
    f.setPointSizeF(f.pointSizeF() * 0.85);
    plot->legend->setFont(f);
    plot->legend->setRowSpacing(-2);
}

} // namespace rudder::widgets
